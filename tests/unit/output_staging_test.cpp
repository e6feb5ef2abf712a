// The event loop's output staging: pieces gathered for one write, views kept into the read
// buffer without a copy, and the size limit.
#include "../../src/server/output_staging.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace sockit::server::detail {
namespace {

TEST(OutputStaging, StartsEmpty) {
  OutputStaging staging;
  EXPECT_TRUE(staging.empty());
  EXPECT_EQ(staging.size(), 0U);
  EXPECT_EQ(staging.data(), "");
}

TEST(OutputStaging, GathersPiecesInOrder) {
  OutputStaging staging;
  EXPECT_TRUE(staging.add("hello"));
  EXPECT_TRUE(staging.add(", "));
  EXPECT_TRUE(staging.add("world\n"));
  EXPECT_EQ(staging.data(), "hello, world\n");
  EXPECT_EQ(staging.size(), 13U);
  EXPECT_FALSE(staging.is_view());
}

TEST(OutputStaging, AnEmptyPieceChangesNothing) {
  OutputStaging staging;
  EXPECT_TRUE(staging.add(""));
  EXPECT_TRUE(staging.empty());
}

TEST(OutputStaging, KeepsAPieceOfTheSourceAsAView) {
  const std::string read = "ping\npong\n";
  OutputStaging staging;
  staging.set_source(read.data(), read.size());
  EXPECT_TRUE(staging.add(std::string_view(read).substr(0, 5)));
  EXPECT_TRUE(staging.is_view());
  EXPECT_EQ(staging.data().data(), read.data());
  EXPECT_EQ(staging.data(), "ping\n");
}

TEST(OutputStaging, ExtendsAViewWithTheBytesThatFollowItInTheSource) {
  const std::string read = "ping\npong\n";
  OutputStaging staging;
  staging.set_source(read.data(), read.size());
  const std::string_view all(read);
  EXPECT_TRUE(staging.add(all.substr(0, 4)));
  EXPECT_TRUE(staging.add(all.substr(4, 6)));
  EXPECT_TRUE(staging.is_view());
  EXPECT_EQ(staging.data().data(), read.data());
  EXPECT_EQ(staging.data(), read);
}

TEST(OutputStaging, CopiesEqualBytesFromElsewhere) {
  const std::string read = "ping\n";
  OutputStaging staging;
  staging.set_source(read.data(), read.size());
  EXPECT_TRUE(staging.add(std::string_view(read).substr(0, 4)));
  EXPECT_TRUE(staging.add("\n"));  // equal to the next source byte, but not in the source
  EXPECT_FALSE(staging.is_view());
  EXPECT_EQ(staging.data(), "ping\n");
  EXPECT_NE(staging.data().data(), read.data());
}

TEST(OutputStaging, CopiesAViewOnceAnotherPieceFollowsIt) {
  const std::string read = "ping\npong\n";
  OutputStaging staging;
  staging.set_source(read.data(), read.size());
  const std::string_view all(read);
  EXPECT_TRUE(staging.add(all.substr(5, 5)));
  EXPECT_TRUE(staging.add(all.substr(0, 5)));  // in the source, but not after the view
  EXPECT_FALSE(staging.is_view());
  EXPECT_EQ(staging.data(), "pong\nping\n");
}

TEST(OutputStaging, DoesNotViewBytesOutsideTheSource) {
  const std::string read = "ping\npong\n";
  OutputStaging staging;
  staging.set_source(read.data(), 5);
  EXPECT_TRUE(staging.add(std::string_view(read).substr(3, 4)));  // runs past the source
  EXPECT_FALSE(staging.is_view());
  EXPECT_EQ(staging.data(), "g\npo");
}

TEST(OutputStaging, ViewsNothingOnceTheSourceIsCleared) {
  const std::string read = "ping\n";
  OutputStaging staging;
  staging.set_source(read.data(), read.size());
  staging.clear_source();
  EXPECT_TRUE(staging.add(read));
  EXPECT_FALSE(staging.is_view());
  EXPECT_EQ(staging.data(), "ping\n");
}

TEST(OutputStaging, RefusesAPieceThatWouldPassTheLimit) {
  OutputStaging staging(8);
  EXPECT_TRUE(staging.add("12345"));
  EXPECT_FALSE(staging.add("6789"));
  EXPECT_EQ(staging.data(), "12345");
  EXPECT_TRUE(staging.add("678"));
  EXPECT_EQ(staging.data(), "12345678");
  EXPECT_FALSE(staging.add("9"));
}

TEST(OutputStaging, RefusesAPieceTooLargeOnItsOwn) {
  OutputStaging staging(4);
  EXPECT_FALSE(staging.add("12345"));
  EXPECT_TRUE(staging.empty());
}

TEST(OutputStaging, AViewIsNotBoundByTheLimitButWhatFollowsItIs) {
  const std::string read = "0123456789";
  OutputStaging staging(4);
  staging.set_source(read.data(), read.size());
  EXPECT_TRUE(staging.add(read));
  EXPECT_TRUE(staging.is_view());
  EXPECT_FALSE(staging.add("x"));
  EXPECT_EQ(staging.data(), read);
}

TEST(OutputStaging, ClearEmptiesAndKeepsWorking) {
  const std::string read = "ping\n";
  OutputStaging staging;
  staging.set_source(read.data(), read.size());
  EXPECT_TRUE(staging.add("copied "));
  EXPECT_TRUE(staging.add(read));
  EXPECT_EQ(staging.data(), "copied ping\n");
  staging.clear();
  EXPECT_TRUE(staging.empty());
  EXPECT_TRUE(staging.add(read));
  EXPECT_TRUE(staging.is_view());
  EXPECT_EQ(staging.data(), "ping\n");
}

}  // namespace
}  // namespace sockit::server::detail
