// The merge operator of the buyers family: a Merge appends its operand to
// the key's value, bytes after bytes. A commit appends a record of what it
// added to a buyer's state instead of writing the whole state again
// (engine/state.h, EncodeBuyerRecord); the engine, which knows the records,
// decodes the concatenation. RocksDB joins a Put with the operands that
// follow it, and operands with each other, when it reads the key or
// compacts it (RocksDB wiki, "Merge Operator").
#ifndef CHATKPI_STORE_CONCAT_MERGE_H_
#define CHATKPI_STORE_CONCAT_MERGE_H_

#include <memory>

#include "rocksdb/merge_operator.h"

namespace chatkpi {

// The operator's name is part of the on-disk format: RocksDB records it in
// the OPTIONS file, and a store with operands opened without it fails.
std::shared_ptr<rocksdb::MergeOperator> NewConcatMerge();

}  // namespace chatkpi

#endif  // CHATKPI_STORE_CONCAT_MERGE_H_
