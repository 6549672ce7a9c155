#include "store/concat_merge.h"

#include <deque>
#include <memory>
#include <string>

namespace chatkpi {
namespace {

class ConcatMerge : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in,
                   MergeOperationOutput* out) const override {
    size_t size = in.existing_value == nullptr ? 0 : in.existing_value->size();
    for (const rocksdb::Slice& op : in.operand_list) size += op.size();
    std::string& value = out->new_value;
    value.clear();
    value.reserve(size);
    if (in.existing_value != nullptr) {
      value.append(in.existing_value->data(), in.existing_value->size());
    }
    for (const rocksdb::Slice& op : in.operand_list) {
      value.append(op.data(), op.size());
    }
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/,
                         const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value,
                         rocksdb::Logger* /*logger*/) const override {
    new_value->clear();
    for (const rocksdb::Slice& op : operands) {
      new_value->append(op.data(), op.size());
    }
    return true;
  }

  const char* Name() const override { return "chatkpi.ConcatMerge"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewConcatMerge() {
  return std::make_shared<ConcatMerge>();
}

}  // namespace chatkpi
