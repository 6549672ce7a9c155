#include "store/id_filter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace chatkpi {
namespace {

TEST(IdFilter, NeverSaysAbsentForAnAddedId) {
  IdFilter f(20);  // 1 Mbit: small, so that it is well filled
  for (int i = 0; i < 100000; ++i) f.Add(absl::StrCat("c-", i));
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(f.MayContain(absl::StrCat("c-", i))) << i;
  }
  int maybe = 0;
  for (int i = 0; i < 100000; ++i) maybe += f.MayContain(absl::StrCat("o-", i));
  // 4 probes, 10.5 bits per id: about 1% answer "maybe".
  EXPECT_LT(maybe, 3000);
  EXPECT_FALSE(IdFilter().MayContain("anything"));
}

}  // namespace
}  // namespace chatkpi
