// The store's byte encodings (store/coding.h) and the keys built from them
// (store/store.h, store/event_log.h): hand-computed bytes of a few values,
// round trips across the whole range, the key order RocksDB scans in, and
// refusal of truncated input.
#include "store/coding.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "store/event_log.h"
#include "store/store.h"

namespace chatkpi {
namespace {

std::string Varint(uint64_t v) {
  std::string s;
  PutVarint64(&s, v);
  return s;
}

std::string Varsint(int64_t v) {
  std::string s;
  PutVarsint64(&s, v);
  return s;
}

TEST(Coding, VarintBytesAreSevenBitGroupsLowFirst) {
  EXPECT_EQ(Varint(0), std::string("\x00", 1));
  EXPECT_EQ(Varint(1), "\x01");
  EXPECT_EQ(Varint(127), "\x7f");
  // 128 = 0b1'0000000: low group 0 with the continuation bit (0x80), then 1.
  EXPECT_EQ(Varint(128), "\x80\x01");
  // 300 = 0b10'0101100: 0101100 | 0x80 = 0xac, then 0b10 = 0x02.
  EXPECT_EQ(Varint(300), "\xac\x02");
  // 16384 = 1 << 14: two empty groups, then 1.
  EXPECT_EQ(Varint(16384), "\x80\x80\x01");
  // 2^64 - 1: nine full groups of 7 bits (63 bits), then the last bit.
  EXPECT_EQ(Varint(std::numeric_limits<uint64_t>::max()),
            std::string(9, '\xff') + "\x01");
  EXPECT_EQ(Varint(std::numeric_limits<uint64_t>::max()).size(), kMaxVarint64);
}

TEST(Coding, ZigZagMapsSmallMagnitudesToSmallVarints) {
  // zigzag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ..., -64 -> 127, 64 -> 128.
  EXPECT_EQ(Varsint(0), std::string("\x00", 1));
  EXPECT_EQ(Varsint(-1), "\x01");
  EXPECT_EQ(Varsint(1), "\x02");
  EXPECT_EQ(Varsint(-2), "\x03");
  EXPECT_EQ(Varsint(-64), "\x7f");
  EXPECT_EQ(Varsint(64), "\x80\x01");
  // INT64_MIN -> 2^64 - 1, INT64_MAX -> 2^64 - 2.
  EXPECT_EQ(Varsint(std::numeric_limits<int64_t>::min()),
            Varint(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(Varsint(std::numeric_limits<int64_t>::max()),
            Varint(std::numeric_limits<uint64_t>::max() - 1));
}

TEST(Coding, PointerFormsWriteTheSameBytesAsTheStringForms) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128},
                     uint64_t{1} << 35, std::numeric_limits<uint64_t>::max()}) {
    char buf[kMaxVarint64];
    char* end = EncodeVarint64(buf, v);
    EXPECT_EQ(std::string(buf, end), Varint(v)) << v;
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{-65}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::min()}) {
    char buf[kMaxVarint64];
    char* end = EncodeVarsint64(buf, v);
    EXPECT_EQ(std::string(buf, end), Varsint(v)) << v;
  }
  char buf[16];
  char* end = EncodeLengthPrefixed(buf, "abc");
  EXPECT_EQ(std::string(buf, end),
            "\x03"
            "abc");
}

TEST(Coding, VarintsRoundTripBackToBack) {
  std::vector<uint64_t> u;
  std::vector<int64_t> s;
  for (int shift = 0; shift < 64; ++shift) {
    const uint64_t p = uint64_t{1} << shift;
    u.insert(u.end(), {p - 1, p, p + 1});
    s.insert(s.end(), {static_cast<int64_t>(p), -static_cast<int64_t>(p),
                       static_cast<int64_t>(p - 1)});
  }
  std::string buf;
  for (size_t i = 0; i < u.size(); ++i) {
    PutVarint64(&buf, u[i]);
    PutVarsint64(&buf, s[i]);
  }
  std::string_view in = buf;
  for (size_t i = 0; i < u.size(); ++i) {
    uint64_t gu;
    int64_t gs;
    ASSERT_TRUE(GetVarint64(&in, &gu)) << i;
    EXPECT_EQ(gu, u[i]);
    ASSERT_TRUE(GetVarsint64(&in, &gs)) << i;
    EXPECT_EQ(gs, s[i]);
  }
  EXPECT_TRUE(in.empty());
}

TEST(Coding, TruncatedOrOverlongVarintsAreRefused) {
  uint64_t v = 7;
  std::string_view empty;
  EXPECT_FALSE(GetVarint64(&empty, &v));
  // 300 cut after its first byte: the continuation bit promises more.
  std::string_view cut("\xac", 1);
  EXPECT_FALSE(GetVarint64(&cut, &v));
  // Eleven continuation bytes: longer than any 64-bit value.
  const std::string overlong(11, '\x80');
  std::string_view in = overlong;
  EXPECT_FALSE(GetVarint64(&in, &v));
  int64_t sv;
  std::string_view cut_signed("\xff", 1);
  EXPECT_FALSE(GetVarsint64(&cut_signed, &sv));
}

TEST(Coding, FixedWidthBigEndianSortsLikeTheNumbers) {
  std::string k;
  PutFixed32BE(&k, 0x01020304u);
  EXPECT_EQ(k, "\x01\x02\x03\x04");
  k.clear();
  PutFixed64BE(&k, 0x0102030405060708u);
  EXPECT_EQ(k, "\x01\x02\x03\x04\x05\x06\x07\x08");
  // Byte order of the encodings = numeric order (keys compare bytewise),
  // which a little-endian or varint encoding would not give: 255 < 256.
  const std::vector<uint64_t> sorted = {0,
                                        1,
                                        255,
                                        256,
                                        65535,
                                        65536,
                                        uint64_t{1} << 40,
                                        std::numeric_limits<uint64_t>::max()};
  for (size_t i = 1; i < sorted.size(); ++i) {
    std::string a, b;
    PutFixed64BE(&a, sorted[i - 1]);
    PutFixed64BE(&b, sorted[i]);
    EXPECT_LT(a, b) << sorted[i - 1] << " vs " << sorted[i];
    std::string a32, b32;
    PutFixed32BE(&a32, static_cast<uint32_t>(sorted[i - 1]));
    PutFixed32BE(&b32, static_cast<uint32_t>(sorted[i]));
    if (sorted[i] <= 0xffffffffu) {
      EXPECT_LT(a32, b32) << sorted[i];
    }
  }
}

TEST(Coding, FixedWidthRoundTripsAndRefusesShortInput) {
  std::string buf;
  PutFixed32BE(&buf, 0xdeadbeefu);
  PutFixed64BE(&buf, 0x8000000000000001u);
  std::string_view in = buf;
  uint32_t a;
  uint64_t b;
  ASSERT_TRUE(GetFixed32BE(&in, &a));
  EXPECT_EQ(a, 0xdeadbeefu);
  ASSERT_TRUE(GetFixed64BE(&in, &b));
  EXPECT_EQ(b, 0x8000000000000001u);
  EXPECT_TRUE(in.empty());

  std::string_view three("\x01\x02\x03", 3);
  EXPECT_FALSE(GetFixed32BE(&three, &a));
  EXPECT_EQ(three.size(), 3u) << "a refused read consumes nothing";
  std::string_view seven("\x01\x02\x03\x04\x05\x06\x07", 7);
  EXPECT_FALSE(GetFixed64BE(&seven, &b));
  EXPECT_EQ(seven.size(), 7u);
}

TEST(Coding, LengthPrefixedStringsRoundTripAndRefuseAShortBody) {
  std::string buf;
  PutLengthPrefixed(&buf, "");
  PutLengthPrefixed(&buf, "a,b");
  const std::string long_text(200, 'x');
  PutLengthPrefixed(&buf, long_text);
  // 0, then 3 "a,b", then 200 = 0xc8 0x01 and the text.
  EXPECT_EQ(buf.substr(0, 7), std::string("\x00\x03"
                                          "a,b\xc8\x01",
                                          7));
  std::string_view in = buf;
  std::string_view s;
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(s, "");
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(s, "a,b");
  ASSERT_TRUE(GetLengthPrefixed(&in, &s));
  EXPECT_EQ(s, long_text);
  EXPECT_TRUE(in.empty());

  // A length of 5 with only 4 bytes behind it.
  std::string_view short_body(
      "\x05"
      "abcd",
      5);
  EXPECT_FALSE(GetLengthPrefixed(&short_body, &s));
}

TEST(Coding, AggregateKeysAreShardDayAgentInScanOrder) {
  // Shard 1, day 20412 (2025-11-20, days since 1970-01-01 = 0x4FBC) with
  // the sign bit flipped: 0x80004FBC; then the agent's bytes as they are.
  EXPECT_EQ(AggregateKey(1, 20412, "a1"),
            std::string("\x00\x00\x00\x01\x80\x00\x4f\xbc"
                        "a1",
                        10));
  // Day -1 (1969-12-31) = 0xFFFFFFFF, flipped 0x7FFFFFFF: before day 0.
  EXPECT_EQ(AggregateKey(0, -1, ""),
            std::string("\x00\x00\x00\x00\x7f\xff\xff\xff", 8));
  // Bytewise order = (shard, day, agent) order, negative days included.
  const std::vector<std::string> sorted = {
      AggregateKey(0, -40000, "z"),     AggregateKey(0, -1, "a"),
      AggregateKey(0, 0, ""),           AggregateKey(0, 0, "a"),
      AggregateKey(0, 0, "ab"),         AggregateKey(0, 255, "a"),
      AggregateKey(0, 256, "a"),        AggregateKey(1, -40000, "a"),
      AggregateKey(0xffffffffu, 0, "a")};
  for (size_t i = 1; i < sorted.size(); ++i) {
    EXPECT_LT(sorted[i - 1], sorted[i]) << i;
  }
  // Month rollups use the same layout with months for days.
  EXPECT_EQ(RollupKey(2, 670, "b"), AggregateKey(2, 670, "b"));
}

TEST(Coding, AggregateKeysParseBackAndShortKeysAreRefused) {
  // An agent id with UTF-8 and a NUL byte: the key keeps every byte.
  const std::string odd_agent("客服\x00x", 8);
  for (int32_t day : {std::numeric_limits<int32_t>::min(), -1, 0, 20412,
                      std::numeric_limits<int32_t>::max()}) {
    uint32_t shard = 0;
    int32_t got_day = 0;
    std::string agent;
    ASSERT_TRUE(ParseAggregateKey(AggregateKey(7, day, odd_agent), &shard,
                                  &got_day, &agent));
    EXPECT_EQ(shard, 7u);
    EXPECT_EQ(got_day, day);
    EXPECT_EQ(agent, odd_agent);
    int32_t month = 0;
    ASSERT_TRUE(ParseRollupKey(RollupKey(3, day, ""), &shard, &month, &agent));
    EXPECT_EQ(shard, 3u);
    EXPECT_EQ(month, day);
    EXPECT_EQ(agent, "");
  }
  uint32_t shard;
  int32_t day;
  std::string agent;
  // 7 bytes: the day is cut short.
  EXPECT_FALSE(ParseAggregateKey(std::string(7, '\0'), &shard, &day, &agent));
}

TEST(Coding, EventLogKeysAreBigEndianSequenceNumbers) {
  EXPECT_EQ(SeqKey(0), std::string(8, '\0'));
  EXPECT_EQ(SeqKey(0x0102), std::string("\0\0\0\0\0\0\x01\x02", 8));
  EXPECT_LT(SeqKey(255), SeqKey(256));
  EXPECT_LT(SeqKey(uint64_t{1} << 32), SeqKey((uint64_t{1} << 32) + 1));
}

}  // namespace
}  // namespace chatkpi
