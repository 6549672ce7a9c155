#include "ingest/line_reader.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace chatkpi {
namespace {

class LineReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/line_reader_test_XXXXXX";
    int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }

  void Write(const std::string& content) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(content.data(), 1, content.size(), f),
              content.size());
    std::fclose(f);
  }

  struct Got {
    std::string text;
    int64_t number;
    bool blank;
    bool too_long;
  };

  // Reads the whole file; `chunk` small values exercise buffer refills.
  std::vector<Got> ReadAll(size_t max_line = LineReader::kDefaultMaxLine,
                           size_t chunk = LineReader::kDefaultChunk) {
    std::vector<Got> out;
    auto reader = LineReader::Open(path_, max_line, chunk);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    LineReader::Line line;
    while ((*reader)->Next(&line)) {
      out.push_back(
          {std::string(line.text), line.number, line.blank, line.too_long});
    }
    EXPECT_TRUE((*reader)->status().ok()) << (*reader)->status();
    // Stays at the end.
    EXPECT_FALSE((*reader)->Next(&line));
    return out;
  }

  std::vector<std::string> Texts(const std::vector<Got>& got) {
    std::vector<std::string> out;
    for (const Got& g : got) out.push_back(g.text);
    return out;
  }

  std::string path_;
};

using Strings = std::vector<std::string>;

TEST_F(LineReaderTest, SplitsLinesAndNumbersThem) {
  Write("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7},
                       LineReader::kDefaultChunk}) {
    std::vector<Got> got = ReadAll(LineReader::kDefaultMaxLine, chunk);
    ASSERT_EQ(Texts(got), (Strings{"{\"a\":1}", "{\"b\":2}", "{\"c\":3}"}))
        << chunk;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i].number, i + 1);
      EXPECT_FALSE(got[i].blank);
      EXPECT_FALSE(got[i].too_long);
    }
  }
}

TEST_F(LineReaderTest, Crlf) {
  Write("one\r\ntwo\r\n\r\nthree\r");
  for (size_t chunk : {size_t{1}, size_t{4}, LineReader::kDefaultChunk}) {
    std::vector<Got> got = ReadAll(LineReader::kDefaultMaxLine, chunk);
    EXPECT_EQ(Texts(got), (Strings{"one", "two", "", "three"}));
    ASSERT_EQ(got.size(), 4u);
    EXPECT_TRUE(got[2].blank);
    EXPECT_EQ(got[3].number, 4);
  }
}

TEST_F(LineReaderTest, OnlyOneCarriageReturnIsStripped) {
  Write("x\r\r\n");
  EXPECT_EQ(Texts(ReadAll()), (Strings{"x\r"}));
}

TEST_F(LineReaderTest, FinalLineWithoutNewline) {
  Write("first\nlast");
  std::vector<Got> got = ReadAll();
  EXPECT_EQ(Texts(got), (Strings{"first", "last"}));
  EXPECT_EQ(got.back().number, 2);
}

TEST_F(LineReaderTest, EmptyFile) {
  Write("");
  EXPECT_TRUE(ReadAll().empty());
}

TEST_F(LineReaderTest, BlankLinesAreReportedAndCounted) {
  Write("\na\n  \t \n\nb\n");
  std::vector<Got> got = ReadAll();
  ASSERT_EQ(Texts(got), (Strings{"", "a", "  \t ", "", "b"}));
  EXPECT_TRUE(got[0].blank);
  EXPECT_FALSE(got[1].blank);
  EXPECT_TRUE(got[2].blank);
  EXPECT_TRUE(got[3].blank);
  EXPECT_FALSE(got[4].blank);
  EXPECT_EQ(got[4].number, 5);
}

TEST_F(LineReaderTest, ByteOrderMarkAtStartIsDropped) {
  Write("\xEF\xBB\xBF{}\n\xEF\xBB\xBF{}\n");
  EXPECT_EQ(Texts(ReadAll()), (Strings{"{}", "\xEF\xBB\xBF{}"}));
  Write("\xEF\xBB");
  EXPECT_EQ(Texts(ReadAll()), (Strings{"\xEF\xBB"}));
}

TEST_F(LineReaderTest, LongLines) {
  const std::string ok(10, 'k');
  const std::string over(11, 'o');
  const std::string huge(1000, 'h');
  Write(ok + "\n" + over + "\n" + huge + "\nafter\n" + ok + "\r\n" + huge);
  for (size_t chunk :
       {size_t{1}, size_t{3}, size_t{64}, LineReader::kDefaultChunk}) {
    std::vector<Got> got = ReadAll(/*max_line=*/10, chunk);
    ASSERT_EQ(got.size(), 6u) << chunk;
    EXPECT_EQ(got[0].text, ok);
    EXPECT_FALSE(got[0].too_long);
    EXPECT_TRUE(got[1].too_long);
    EXPECT_EQ(got[1].text, over.substr(0, 10));
    EXPECT_TRUE(got[2].too_long);
    EXPECT_EQ(got[2].text, huge.substr(0, 10));
    EXPECT_EQ(got[3].text, "after");
    EXPECT_EQ(got[3].number, 4);
    EXPECT_FALSE(got[3].too_long);
    // The "\r" of CRLF does not count against the limit.
    EXPECT_EQ(got[4].text, ok);
    EXPECT_FALSE(got[4].too_long);
    EXPECT_TRUE(got[5].too_long);
    EXPECT_EQ(got[5].number, 6);
  }
}

TEST_F(LineReaderTest, TooLongLineIsNeverBlank) {
  Write(std::string(30, ' ') + "\n" + std::string(5, ' ') + "\n");
  std::vector<Got> got = ReadAll(/*max_line=*/10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].too_long);
  EXPECT_FALSE(got[0].blank);
  EXPECT_FALSE(got[1].too_long);
  EXPECT_TRUE(got[1].blank);
}

TEST_F(LineReaderTest, LongLineOfDefaultLimit) {
  const std::string limit(LineReader::kDefaultMaxLine, 'x');
  Write("a\n" + limit + "\n" + limit + "yy\nb");
  std::vector<Got> got = ReadAll();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_FALSE(got[1].too_long);
  EXPECT_EQ(got[1].text.size(), LineReader::kDefaultMaxLine);
  EXPECT_TRUE(got[2].too_long);
  EXPECT_EQ(got[2].text.size(), LineReader::kDefaultMaxLine);
  EXPECT_EQ(got[3].text, "b");
  EXPECT_EQ(got[3].number, 4);
}

TEST_F(LineReaderTest, ManyLinesAcrossChunks) {
  std::string content;
  for (int i = 1; i <= 100000; ++i) {
    content += "{\"i\":" + std::to_string(i) + "}\n";
  }
  Write(content);
  std::vector<Got> got = ReadAll(LineReader::kDefaultMaxLine, 4096);
  ASSERT_EQ(got.size(), 100000u);
  for (int i = 0; i < 100000; ++i) {
    ASSERT_EQ(got[i].text, "{\"i\":" + std::to_string(i + 1) + "}");
    ASSERT_EQ(got[i].number, i + 1);
  }
}

TEST_F(LineReaderTest, MissingFileIsNotFound) {
  const std::string missing = path_ + ".does-not-exist";
  auto reader = LineReader::Open(missing);
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(absl::IsNotFound(reader.status())) << reader.status();
  EXPECT_NE(std::string(reader.status().message()).find(missing),
            std::string::npos);
}

TEST_F(LineReaderTest, DirectoryIsRejected) {
  auto reader = LineReader::Open("/tmp");
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(std::string(reader.status().message()).find("/tmp"),
            std::string::npos);
}

TEST_F(LineReaderTest, DashIsStdin) {
  auto reader = LineReader::Open("-");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->path(), "-");
}

}  // namespace
}  // namespace chatkpi
