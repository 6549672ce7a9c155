#include "store/id_filter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

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
