// The drain suite (serve_drain_suite.hpp) on the process architectures and serial.
#include "serve_drain_suite.hpp"

namespace sockit::test {
namespace {

INSTANTIATE_TEST_SUITE_P(Serve, ServeDrain, ::testing::Values("serial", "fork", "prefork"),
                         arch_param_name);

}  // namespace
}  // namespace sockit::test
