// ByteBuffer, the queue under the codecs, Stream and the reactor's output, and the
// reactor's cache of them (BufferPool).
#include "sockit/byte_buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "../../src/server/io_buffer.hpp"

namespace sockit::server::detail {
namespace {

using sockit::detail::ByteBuffer;

static_assert(std::is_nothrow_move_constructible_v<ByteBuffer>);
static_assert(!std::is_copy_constructible_v<ByteBuffer>);

TEST(ByteBuffer, StartsEmptyWithNoStorage) {
  ByteBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_EQ(buffer.capacity(), 0U);
}

TEST(ByteBuffer, AppendsAndConsumesInOrder) {
  ByteBuffer buffer;
  buffer.append("hello ");
  buffer.append("world");
  EXPECT_EQ(buffer.data(), "hello world");
  buffer.consume(6);
  EXPECT_EQ(buffer.data(), "world");
  buffer.append("!");
  EXPECT_EQ(buffer.data(), "world!");
  buffer.consume(6);
  EXPECT_TRUE(buffer.empty());
}

TEST(ByteBuffer, ConsumingMoreThanHeldEmptiesIt) {
  ByteBuffer buffer;
  buffer.append("abc");
  buffer.consume(10);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.data(), "");
}

TEST(ByteBuffer, GrowsForLargeAppendsAndKeepsBytes) {
  ByteBuffer buffer;
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string piece(1000, static_cast<char>('a' + i % 26));
    buffer.append(piece);
    expected += piece;
  }
  EXPECT_EQ(buffer.size(), expected.size());
  EXPECT_GE(buffer.capacity(), expected.size());
  EXPECT_EQ(buffer.data(), expected);
}

TEST(ByteBuffer, ReusesConsumedSpaceInsteadOfGrowing) {
  ByteBuffer buffer(kOutputBufferCapacity);
  buffer.append(std::string(1000, 'x'));
  const std::size_t capacity = buffer.capacity();
  // A queue that is drained about as fast as it fills never needs more storage.
  for (int i = 0; i < 10000; ++i) {
    buffer.append(std::string(100, static_cast<char>('a' + i % 26)));
    buffer.consume(100);
  }
  EXPECT_EQ(buffer.capacity(), capacity);
  EXPECT_EQ(buffer.size(), 1000U);
  EXPECT_EQ(buffer.data().front(), static_cast<char>('a' + (10000 - 10) % 26));
}

TEST(ByteBuffer, FirstAllocationIsTheCapacityAskedFor) {
  ByteBuffer small;
  small.append("x");
  EXPECT_EQ(small.capacity(), 256U);
  ByteBuffer large(kOutputBufferCapacity);
  large.append("x");
  EXPECT_EQ(large.capacity(), kOutputBufferCapacity);
  ByteBuffer exact(16);
  exact.append(std::string(100, 'y'));
  EXPECT_EQ(exact.capacity(), 100U);
}

TEST(ByteBuffer, PrepareAndCommitWriteInPlace) {
  ByteBuffer buffer;
  std::span<char> space = buffer.prepare(10);
  ASSERT_GE(space.size(), 10U);
  std::memcpy(space.data(), "abcdef", 6);
  buffer.commit(6);
  EXPECT_EQ(buffer.data(), "abcdef");
  buffer.consume(2);
  space = buffer.prepare(buffer.capacity());
  ASSERT_GE(space.size(), buffer.capacity() - buffer.size());
  buffer.commit(0);
  EXPECT_EQ(buffer.data(), "cdef");
}

TEST(ByteBuffer, ReleaseMemoryOnlyWhenEmpty) {
  ByteBuffer buffer;
  buffer.append("pending");
  buffer.release_memory();
  EXPECT_EQ(buffer.data(), "pending");
  EXPECT_GT(buffer.capacity(), 0U);
  buffer.consume(7);
  buffer.release_memory();
  EXPECT_EQ(buffer.capacity(), 0U);
}

TEST(ByteBuffer, MoveLeavesAnEmptyReusableSource) {
  ByteBuffer first;
  first.append("kept");
  ByteBuffer second(std::move(first));
  EXPECT_EQ(second.data(), "kept");
  EXPECT_TRUE(first.empty());       // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(first.capacity(), 0U);  // NOLINT(bugprone-use-after-move)
  first.append("again");            // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(first.data(), "again");
  second = std::move(first);
  EXPECT_EQ(second.data(), "again");
}

TEST(BufferPool, NewBuffersStartAtTheOutputCapacity) {
  BufferPool pool(2, 64 * 1024);
  auto buffer = pool.take();
  buffer->append("x");
  EXPECT_EQ(buffer->capacity(), kOutputBufferCapacity);
}

TEST(BufferPool, HandsBackCachedBuffersEmpty) {
  BufferPool pool(2, 64 * 1024);
  auto buffer = pool.take();
  buffer->append("leftover");
  IoBuffer* raw = buffer.get();
  pool.give(std::move(buffer));
  EXPECT_EQ(pool.cached(), 1U);
  auto again = pool.take();
  EXPECT_EQ(again.get(), raw);
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(pool.cached(), 0U);
}

TEST(BufferPool, FreesBuffersThatGrewLargeOrOverflowTheCache) {
  BufferPool pool(2, 64 * 1024);
  auto big = pool.take();
  big->append(std::string(1024 * 1024, 'b'));
  pool.give(std::move(big));
  EXPECT_EQ(pool.cached(), 0U);

  pool.give(pool.take());
  pool.give(std::make_unique<IoBuffer>());
  pool.give(std::make_unique<IoBuffer>());
  EXPECT_EQ(pool.cached(), 2U);
  pool.give(nullptr);
  EXPECT_EQ(pool.cached(), 2U);
}

}  // namespace
}  // namespace sockit::server::detail
