// The names and arithmetic of a server's counters (see sockit/server/metrics.hpp).
#include "sockit/server/metrics.hpp"

namespace sockit::server {

CounterName counter_name(Counter counter) noexcept {
  switch (counter) {
    case Counter::accepted:
      return {"connections_accepted", {}, {}};
    case Counter::refused_full:
      return {"connections_refused", "reason", "full"};
    case Counter::refused_per_address:
      return {"connections_refused", "reason", "per_ip"};
    case Counter::closed_eof:
      return {"connections_closed", "reason", "eof"};
    case Counter::closed_reset:
      return {"connections_closed", "reason", "reset"};
    case Counter::closed_idle:
      return {"connections_closed", "reason", "idle"};
    case Counter::closed_error:
      return {"connections_closed", "reason", "error"};
    case Counter::closed_server:
      return {"connections_closed", "reason", "server"};
    case Counter::bytes_in:
      return {"received_bytes", {}, {}};
    case Counter::bytes_out:
      return {"sent_bytes", {}, {}};
    case Counter::messages_in:
      return {"messages_received", {}, {}};
    case Counter::messages_out:
      return {"messages_sent", {}, {}};
    case Counter::messages_rate_limited:
      return {"messages_refused", "reason", "rate"};
    case Counter::tls_handshakes:
      return {"tls_handshakes", {}, {}};
    case Counter::tls_failures:
      return {"tls_handshake_failures", {}, {}};
  }
  return {"unknown", {}, {}};
}

std::uint64_t CounterValues::closed() const noexcept {
  return (*this)[Counter::closed_eof] + (*this)[Counter::closed_reset] +
         (*this)[Counter::closed_idle] + (*this)[Counter::closed_error] +
         (*this)[Counter::closed_server];
}

CounterValues& CounterValues::operator+=(const CounterValues& other) noexcept {
  for (std::size_t i = 0; i < kCounterCount; ++i)
    values[i] += other.values[i];
  return *this;
}

}  // namespace sockit::server
