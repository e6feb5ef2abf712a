// OutputBudget: when a connection's queue of unsent output makes it too slow to keep.
#include "../../src/server/output_budget.hpp"

#include <gtest/gtest.h>

#include <cstddef>

namespace sockit::server::detail {
namespace {

constexpr std::size_t MiB = 1024 * 1024;

TEST(OutputBudget, AQueuePastThePerConnectionBoundIsTooSlow) {
  OutputBudget budget(16 * MiB, 256 * MiB);
  budget.add(16 * MiB + 1);
  EXPECT_FALSE(budget.too_slow(16 * MiB, 10));
  EXPECT_TRUE(budget.too_slow(16 * MiB + 1, 10));
}

TEST(OutputBudget, BelowTheServerBoundEveryQueueUnderItsOwnBoundStays) {
  OutputBudget budget(16 * MiB, 64 * MiB);
  budget.add(64 * MiB);
  EXPECT_FALSE(budget.too_slow(15 * MiB, 100));
}

TEST(OutputBudget, PastTheServerBoundQueuesOverTheirShareGo) {
  OutputBudget budget(16 * MiB, 64 * MiB);
  budget.add(64 * MiB + 1);
  // 64 MiB over 16 connections: a share of 4 MiB each.
  EXPECT_TRUE(budget.too_slow(4 * MiB + 1, 16));
  EXPECT_FALSE(budget.too_slow(4 * MiB, 16));
  // A reader holding a message or two stays, whatever the share.
  EXPECT_FALSE(budget.too_slow(OutputBudget::kSmallQueue, 100'000));
  EXPECT_TRUE(budget.too_slow(OutputBudget::kSmallQueue + 1, 100'000));
}

TEST(OutputBudget, TakenBackOutputBringsTheTotalBelowTheBound) {
  OutputBudget budget(0, 64 * MiB);
  budget.add(80 * MiB);
  EXPECT_TRUE(budget.too_slow(8 * MiB, 10));
  budget.remove(20 * MiB);
  EXPECT_EQ(budget.used(), 60 * MiB);
  EXPECT_FALSE(budget.too_slow(8 * MiB, 10));
}

TEST(OutputBudget, ZeroMeansNoBound) {
  OutputBudget budget(0, 0);
  budget.add(1024 * MiB);
  EXPECT_FALSE(budget.too_slow(1024 * MiB, 1));
}

TEST(OutputBudget, TheLogLineSaysWhichBoundWasPassed) {
  OutputBudget budget(16 * MiB, 64 * MiB);
  EXPECT_EQ(budget.closing_line("127.0.0.1:5000", 16 * MiB + 1),
            "closing 127.0.0.1:5000: 16777217 bytes of output unread (client too slow)");
  budget.add(65 * MiB);
  EXPECT_EQ(budget.closing_line("127.0.0.1:5000", 8 * MiB),
            "closing 127.0.0.1:5000: 8388608 bytes of output unread, 68157440 in all past the "
            "server's bound of 67108864 (client too slow)");
}

}  // namespace
}  // namespace sockit::server::detail
