#include "store/id_filter.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace chatkpi {
namespace {

uint64_t H(const std::string& id) { return IdFilter::Hash(id); }

TEST(IdFilter, NeverSaysAbsentForAnAddedId) {
  IdFilter f(20);  // 1 Mbit: small, so that it is well filled
  for (int i = 0; i < 100000; ++i) f.Add(H(absl::StrCat("c-", i)));
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(f.MayContain(H(absl::StrCat("c-", i)))) << i;
  }
  int maybe = 0;
  for (int i = 0; i < 100000; ++i) {
    maybe += f.MayContain(H(absl::StrCat("o-", i)));
  }
  // 4 probes, 10.5 bits per id: about 1% answer "maybe".
  EXPECT_LT(maybe, 3000);
  EXPECT_FALSE(IdFilter().MayContain(H("anything")));
}

// AddAndTest answers what MayContain would have before adding: false for
// a new id (but for the rare false "maybe"), true for one added before.
TEST(IdFilter, AddAndTestReportsWhetherTheIdMayHaveBeenAdded) {
  IdFilter f(20);
  int maybe = 0;
  for (int i = 0; i < 50000; ++i)
    maybe += f.AddAndTest(H(absl::StrCat("c-", i)));
  EXPECT_LT(maybe, 1000);
  for (int i = 0; i < 50000; ++i) {
    ASSERT_TRUE(f.AddAndTest(H(absl::StrCat("c-", i)))) << i;
  }
}

}  // namespace
}  // namespace chatkpi

namespace chatkpi {
namespace {

// The filter is saved to disk, so its hash must not change between
// processes or builds: these values are the format. Worked out apart from
// the code: FNV-1a 64 then splitmix64's finalizer, in Python.
TEST(IdFilter, HashIsStable) {
  EXPECT_EQ(IdFilter::Hash("c-1"), 3136255355820789431ull);
  EXPECT_EQ(IdFilter::Hash("order-2026-11-28-0000001"),
            10277122462510801682ull);
  EXPECT_NE(IdFilter::Hash("c-1"), IdFilter::Hash("c-2"));
}

TEST(IdFilter, SavedAndLoadedWithItsLabelOrRefusedWhenDamaged) {
  const std::string dir = testing::TempDir("idfiltersave");
  const std::string path = dir + "/f";
  IdFilter f(16);
  for (int i = 0; i < 3000; ++i) f.Add(H(absl::StrCat("c-", i)));
  ASSERT_TRUE(f.Save(path, "store-x\n3000").ok());
  std::string label;
  auto loaded = IdFilter::Load(path, &label);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(label, "store-x\n3000");
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE((*loaded)->MayContain(H(absl::StrCat("c-", i)))) << i;
  }
  int maybe = 0;
  for (int i = 0; i < 3000; ++i) {
    maybe += (*loaded)->MayContain(H(absl::StrCat("o-", i)));
  }
  EXPECT_LT(maybe, 300);
  EXPECT_EQ(IdFilter::Load(dir + "/none", &label).status().code(),
            absl::StatusCode::kNotFound);
  // One flipped bit anywhere, a short file, a longer one: all refused.
  const auto size = std::filesystem::file_size(path);
  for (std::streamoff at : {std::streamoff{2}, std::streamoff{20},
                            static_cast<std::streamoff>(size - 1)}) {
    ASSERT_TRUE(f.Save(path, "store-x\n3000").ok());
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(at);
    const char c = static_cast<char>(io.get());
    io.seekp(at);
    io.put(static_cast<char>(c ^ 1));
    io.close();
    EXPECT_EQ(IdFilter::Load(path, &label).status().code(),
              absl::StatusCode::kDataLoss)
        << at;
  }
  ASSERT_TRUE(f.Save(path, "store-x\n3000").ok());
  std::filesystem::resize_file(path, size - 8);
  EXPECT_EQ(IdFilter::Load(path, &label).status().code(),
            absl::StatusCode::kDataLoss);
  ASSERT_TRUE(f.Save(path, "store-x\n3000").ok());
  std::ofstream(path, std::ios::app | std::ios::binary) << "x";
  EXPECT_EQ(IdFilter::Load(path, &label).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace chatkpi
