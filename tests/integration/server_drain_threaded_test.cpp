// The drain suite (serve_drain_suite.hpp) on the threaded architectures, labelled so the
// ThreadSanitizer run covers it.
// sockit-test-labels: threaded
#include "serve_drain_suite.hpp"

namespace sockit::test {
namespace {

INSTANTIATE_TEST_SUITE_P(Serve, ServeDrain,
                         ::testing::Values("thread", "pool", "reactor", "hybrid", "uring",
                                           "uring-hybrid"),
                         arch_param_name);

}  // namespace
}  // namespace sockit::test
