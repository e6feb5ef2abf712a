// Every service on the threaded architectures (thread, pool, reactor, hybrid): the suite of
// serve_services_suite.hpp, labelled so the ThreadSanitizer run covers it.
// sockit-test-labels: threaded
#include "serve_services_suite.hpp"

namespace sockit::test {
namespace {

INSTANTIATE_TEST_SUITE_P(Serve, ServeEveryArchitecture,
                         services_on({"thread", "pool", "reactor", "hybrid", "uring",
                                      "uring-hybrid"}),
                         param_name);

}  // namespace
}  // namespace sockit::test
