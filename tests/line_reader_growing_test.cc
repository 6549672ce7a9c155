// LineReader on a file that is still being written (hold_partial, Retry)
// and on inputs that can be read only once (one descriptor, no reopen).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "ingest/line_reader.h"
#include "tests/subprocess.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

void Append(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

TEST(LineReaderGrowing, UnterminatedLineIsHeldUntilCompleted) {
  const std::string dir = testing::TempDir("reader-growing");
  const std::string path = dir + "/f";
  testing::WriteFile(path, "one\ntw");
  auto reader = LineReader::Open(path, 64, 4);  // small chunks: refills
  ASSERT_TRUE(reader.ok()) << reader.status();
  (*reader)->set_hold_partial(true);
  LineReader::Line line;
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ(line.text, "one");
  EXPECT_EQ(line.number, 1);
  EXPECT_FALSE((*reader)->Next(&line));
  EXPECT_TRUE((*reader)->status().ok());
  EXPECT_EQ((*reader)->partial(), "tw");
  EXPECT_EQ((*reader)->bytes_read(), 6);  // "one\ntw"

  // Without Retry the end stays the end; after it, the appended bytes
  // complete the held line.
  Append(path, "o\r\nthree");
  EXPECT_FALSE((*reader)->Next(&line));
  (*reader)->Retry();
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ(line.text, "two");
  EXPECT_EQ(line.number, 2);
  EXPECT_FALSE((*reader)->Next(&line));
  EXPECT_EQ((*reader)->partial(), "three");

  // Taken as it is: the last line, and nothing held any more.
  ASSERT_TRUE((*reader)->TakePartial(&line));
  EXPECT_EQ(line.text, "three");
  EXPECT_EQ(line.number, 3);
  EXPECT_EQ((*reader)->partial(), "");
  EXPECT_FALSE((*reader)->TakePartial(&line));
  std::filesystem::remove_all(dir);
}

TEST(LineReaderGrowing, ByteOrderMarkMayArriveInPieces) {
  const std::string dir = testing::TempDir("reader-bom");
  const std::string path = dir + "/f";
  testing::WriteFile(path, "\xEF\xBB");
  auto reader = LineReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  (*reader)->set_hold_partial(true);
  LineReader::Line line;
  EXPECT_FALSE((*reader)->Next(&line));
  Append(path, "\xBF{}\n");
  (*reader)->Retry();
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ(line.text, "{}");
  std::filesystem::remove_all(dir);
}

TEST(LineReaderGrowing, TooLongLineBeingWrittenIsSkippedToItsEnd) {
  const std::string dir = testing::TempDir("reader-long");
  const std::string path = dir + "/f";
  testing::WriteFile(path, std::string(100, 'x'));
  auto reader = LineReader::Open(path, 64, 16);
  ASSERT_TRUE(reader.ok()) << reader.status();
  (*reader)->set_hold_partial(true);
  LineReader::Line line;
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_TRUE(line.too_long);
  EXPECT_EQ(line.number, 1);
  EXPECT_FALSE((*reader)->Next(&line));
  EXPECT_EQ((*reader)->partial(), "");
  // The rest of the long line arrives: still line 1, then line 2.
  Append(path, std::string(50, 'y') + "\nnext\n");
  (*reader)->Retry();
  ASSERT_TRUE((*reader)->Next(&line));
  EXPECT_EQ(line.text, "next");
  EXPECT_EQ(line.number, 2);
  std::filesystem::remove_all(dir);
}

TEST(LineReaderGrowing, FifoIsReadThroughOneOpen) {
  const std::string dir = testing::TempDir("reader-fifo");
  const std::string fifo = dir + "/p";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string content;
  for (int i = 0; i < 20000; ++i) content += std::to_string(i) + "\n";
  std::thread writer([&] {
    int fd = open(fifo.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = write(fd, content.data() + done, content.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
  });
  auto reader = LineReader::Open(fifo);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_FALSE((*reader)->regular());
  EXPECT_FALSE((*reader)->ReadPrefix(16).ok());  // no second read of a FIFO
  LineReader::Line line;
  int64_t n = 0;
  while ((*reader)->Next(&line)) {
    ASSERT_EQ(line.text, std::to_string(n));
    ++n;
  }
  writer.join();
  EXPECT_EQ(n, 20000);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chatkpi
