// The reactor's output queue (IoBuffer) and its buffer cache (BufferPool).
#include "../../src/server/io_buffer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace sockit::server::detail {
namespace {

TEST(IoBuffer, StartsEmptyWithNoStorage) {
  IoBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0U);
  EXPECT_EQ(buffer.capacity(), 0U);
}

TEST(IoBuffer, AppendsAndConsumesInOrder) {
  IoBuffer buffer;
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

TEST(IoBuffer, ConsumingMoreThanHeldEmptiesIt) {
  IoBuffer buffer;
  buffer.append("abc");
  buffer.consume(10);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.data(), "");
}

TEST(IoBuffer, GrowsForLargeAppendsAndKeepsBytes) {
  IoBuffer buffer;
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

TEST(IoBuffer, ReusesConsumedSpaceInsteadOfGrowing) {
  IoBuffer buffer;
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
