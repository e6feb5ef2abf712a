// Internal: the one datagram receive loop, behind both serve_udp() and UdpServer. It waits
// on the socket and a stop descriptor together, so a stop is seen at once, however it was
// requested: an eventfd written from a signal handler (UdpServer) or from a stop_token's
// callback (serve_udp).
#pragma once

#include <functional>
#include <span>

#include "sockit/deadline.hpp"
#include "sockit/error.hpp"
#include "sockit/udp.hpp"

namespace sockit::detail {

// Calls on_datagram for each datagram received into `buffer` until `stop_fd` is readable
// or `until` passes. Queued datagrams are drained a bounded batch at a time, so a stop is
// noticed under a flood. A failed receive (an ICMP error from an earlier reply) goes to
// on_receive_error, which may return to carry on; without one it propagates. Throws Error
// when poll(2) fails.
void serve_datagrams(UdpSocket& socket, int stop_fd, Deadline until, std::span<char> buffer,
                     const std::function<void(const Datagram&)>& on_datagram,
                     const std::function<void(const Error&)>& on_receive_error = {});

}  // namespace sockit::detail
