// FileDescriptor: ownership, moves, release and reset close exactly what they should.
#include "sockit/file_descriptor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>

#include <gtest/gtest.h>

namespace sockit {
namespace {

static_assert(!std::is_copy_constructible_v<FileDescriptor>);
static_assert(!std::is_copy_assignable_v<FileDescriptor>);
static_assert(std::is_nothrow_move_constructible_v<FileDescriptor>);
static_assert(std::is_nothrow_move_assignable_v<FileDescriptor>);

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

int new_descriptor() {
  int fd = ::dup(STDERR_FILENO);
  EXPECT_GE(fd, 0);
  return fd;
}

TEST(FileDescriptor, DefaultHoldsNothing) {
  FileDescriptor fd;
  EXPECT_EQ(fd.get(), -1);
  EXPECT_FALSE(fd.is_open());
  EXPECT_FALSE(fd);
  fd.close();  // harmless
}

TEST(FileDescriptor, ClosesWhatItOwnsWhenDestroyed) {
  const int raw = new_descriptor();
  {
    FileDescriptor fd(raw);
    EXPECT_EQ(fd.get(), raw);
    EXPECT_TRUE(fd);
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(FileDescriptor, MoveTransfersOwnership) {
  const int raw = new_descriptor();
  FileDescriptor first(raw);
  FileDescriptor second(std::move(first));
  EXPECT_EQ(first.get(), -1);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(second.get(), raw);
  EXPECT_TRUE(is_open(raw));

  const int other = new_descriptor();
  FileDescriptor third(other);
  third = std::move(second);
  EXPECT_EQ(third.get(), raw);
  EXPECT_FALSE(is_open(other)) << "the replaced descriptor must be closed";
  EXPECT_TRUE(is_open(raw));
}

TEST(FileDescriptor, ReleaseGivesUpOwnership) {
  const int raw = new_descriptor();
  {
    FileDescriptor fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd);
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(FileDescriptor, ResetAndCloseCloseTheOldDescriptor) {
  const int first = new_descriptor();
  const int second = new_descriptor();
  FileDescriptor fd(first);
  fd.reset(second);
  EXPECT_FALSE(is_open(first));
  EXPECT_EQ(fd.get(), second);
  fd.reset(second);  // the same descriptor again: kept, not closed
  EXPECT_TRUE(is_open(second));
  fd.close();
  EXPECT_FALSE(is_open(second));
  EXPECT_EQ(fd.get(), -1);
  fd.close();  // idempotent
}

}  // namespace
}  // namespace sockit
