// Name resolution: getaddrinfo returning every result, reverse lookup (getnameinfo) and
// service names (getservbyname_r / getservbyport_r).
#include <netdb.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "concat.hpp"
#include "sockit/address.hpp"
#include "sockit/error.hpp"

namespace sockit {

using detail::concat;

namespace {

bool is_all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Parses a decimal port; nullopt when out of 0..65535 (text must be all digits).
std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// The getaddrinfo/getnameinfo result as an error_code: EAI_SYSTEM means errno holds the
// real cause, which belongs in the system category.
std::error_code gai_code(int rc, int saved_errno) {
  if (rc == EAI_SYSTEM) return errno_code(saved_errno != 0 ? saved_errno : EIO);
  return {rc, resolve_category()};
}

// "host" when the service is a number or empty (the number is already in the result),
// "host:service" for a service name, since a bad name is then a possible cause.
std::string resolve_target(std::string_view host, std::string_view service) {
  std::string target(host);
  if (!service.empty() && !is_all_digits(service)) {
    if (host.find(':') != std::string_view::npos) target = concat({"[", target, "]"});
    target += ":";
    target += service;
  }
  return target;
}

std::vector<ResolvedAddress> resolve_impl(std::string_view host, std::string_view service,
                                          const ResolveOptions& options, bool numeric_service,
                                          std::error_code& ec, std::string* detail) {
  ec.clear();
  if (is_all_digits(service) && !parse_port(service)) {
    // glibc would silently truncate "70000" to a 16-bit port.
    ec = make_error_code(errc::invalid_argument);
    if (detail != nullptr) *detail = concat({"port ", service, " out of range (0-65535)"});
    return {};
  }
  const std::string host_z(host);
  const std::string service_z(service);

  addrinfo hints{};
  hints.ai_family = options.family;
  hints.ai_socktype = options.socktype;
  hints.ai_flags =
      (options.passive ? AI_PASSIVE : 0) | (options.numeric_host ? AI_NUMERICHOST : 0) |
      (options.canonical_name ? AI_CANONNAME : 0) | (numeric_service ? AI_NUMERICSERV : 0);

  addrinfo* list = nullptr;
  errno = 0;
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host_z.c_str(),
                               service.empty() ? nullptr : service_z.c_str(), &hints, &list);
  const int saved_errno = errno;
  if (rc != 0) {
    ec = gai_code(rc, saved_errno);
    return {};
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, &::freeaddrinfo);

  std::vector<ResolvedAddress> results;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addr == nullptr) continue;
    ResolvedAddress r;
    r.address = Address(ai->ai_addr, ai->ai_addrlen);
    r.family = ai->ai_family;
    r.socktype = ai->ai_socktype;
    r.protocol = ai->ai_protocol;
    if (ai == list && ai->ai_canonname != nullptr) r.canonical_name = ai->ai_canonname;
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace

std::vector<ResolvedAddress> resolve(std::string_view host, std::string_view service,
                                     const ResolveOptions& options) {
  std::error_code ec;
  std::string detail;
  auto results = resolve_impl(host, service, options, false, ec, &detail);
  if (ec) throw Error(ec, "resolve", resolve_target(host, service), detail);
  return results;
}

std::vector<ResolvedAddress> resolve(std::string_view host, std::uint16_t port,
                                     const ResolveOptions& options) {
  const std::string service = std::to_string(port);
  std::error_code ec;
  auto results = resolve_impl(host, service, options, true, ec, nullptr);
  if (ec) throw Error(ec, "resolve", resolve_target(host, service));
  return results;
}

std::vector<ResolvedAddress> resolve(std::string_view host, std::string_view service,
                                     const ResolveOptions& options, std::error_code& ec) {
  try {
    return resolve_impl(host, service, options, false, ec, nullptr);
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return {};
  }
}

std::string reverse_lookup(const Address& address) {
  if (!address.is_ip()) {
    throw_error(errc::invalid_argument, "reverse lookup", address.to_string(), "not an IP address");
  }
  std::array<char, NI_MAXHOST> host{};
  errno = 0;
  const int rc = ::getnameinfo(address.data(), address.size(), host.data(),
                               static_cast<socklen_t>(host.size()), nullptr, 0, NI_NAMEREQD);
  const int saved_errno = errno;
  if (rc != 0) throw Error(gai_code(rc, saved_errno), "reverse lookup", address.ip());
  return host.data();
}

std::uint16_t service_port(std::string_view name, std::string_view protocol) {
  if (name.empty()) throw_error(errc::invalid_argument, "service", name, "empty service name");
  if (is_all_digits(name)) {
    if (auto port = parse_port(name)) return *port;
    throw_error(errc::invalid_argument, "service", name, "port out of range (0-65535)");
  }
  const std::string name_z(name);
  const std::string proto_z(protocol);
  servent entry{};
  servent* found = nullptr;
  std::array<char, 4096> buffer{};
  const int rc = ::getservbyname_r(name_z.c_str(), proto_z.empty() ? nullptr : proto_z.c_str(),
                                   &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr) {
    throw_error(errc::not_found, "service", name,
                concat({"unknown service name for ", proto_z.empty() ? "any protocol" : proto_z}));
  }
  return ntohs(static_cast<std::uint16_t>(found->s_port));
}

std::string service_name(std::uint16_t port, std::string_view protocol) {
  const std::string proto_z(protocol);
  servent entry{};
  servent* found = nullptr;
  std::array<char, 4096> buffer{};
  const int rc = ::getservbyport_r(htons(port), proto_z.empty() ? nullptr : proto_z.c_str(), &entry,
                                   buffer.data(), buffer.size(), &found);
  if (rc != 0 || found == nullptr || found->s_name == nullptr) return std::to_string(port);
  return found->s_name;
}

}  // namespace sockit
