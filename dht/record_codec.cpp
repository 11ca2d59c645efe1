#include "dht/record_codec.h"

#include "commands/value_util.h"

namespace chord {
namespace {

Result<int64_t> DecimalMember(const xmlrpc_c::value& value, const std::string& name) {
  auto text = StructString(value, name);
  if (!text.ok()) return text.status();
  try {
    size_t used = 0;
    long long number = std::stoll(text.value(), &used);
    if (used != text->size()) throw std::invalid_argument(name);
    return int64_t(number);
  } catch (const std::exception&) {
    return Status::BadArgument("record member '" + name + "' is not a decimal number");
  }
}

}  // namespace

xmlrpc_c::value ValueToXml(const std::string& bytes, bool binary) {
  if (binary) {
    return xmlrpc_c::value_bytestring(std::vector<unsigned char>(bytes.begin(), bytes.end()));
  }
  return xmlrpc_c::value_string(bytes);
}

xmlrpc_c::value RecordToXml(const Record& record) {
  const Entry& e = record.entry;
  return MakeStruct({{"key", xmlrpc_c::value_string(record.key)},
                     {"value", ValueToXml(e.value, e.binary)},
                     {"version", xmlrpc_c::value_string(std::to_string(e.version))},
                     {"tombstone", xmlrpc_c::value_boolean(e.tombstone)},
                     {"expires_at_ms", xmlrpc_c::value_string(std::to_string(e.expires_at_ms))},
                     {"written_at_ms", xmlrpc_c::value_string(std::to_string(e.written_at_ms))}});
}

xmlrpc_c::value RecordsToXml(const std::vector<Record>& records) {
  std::vector<xmlrpc_c::value> values;
  values.reserve(records.size());
  for (const auto& r : records) values.push_back(RecordToXml(r));
  return xmlrpc_c::value_array(values);
}

Result<Record> RecordFromXml(const xmlrpc_c::value& value, int bits) {
  Record record;
  auto key = StructString(value, "key");
  if (!key.ok()) return key.status();
  record.key = key.value();
  record.id = Id::Hash(record.key, bits);
  auto v = StructMember(value, "value");
  if (!v.ok()) return v.status();
  if (v->type() == xmlrpc_c::value::TYPE_BYTESTRING) {
    auto bytes = xmlrpc_c::value_bytestring(v.value()).vectorUcharValue();
    record.entry.value.assign(bytes.begin(), bytes.end());
    record.entry.binary = true;
  } else if (v->type() == xmlrpc_c::value::TYPE_STRING) {
    record.entry.value = std::string(xmlrpc_c::value_string(v.value()));
  } else {
    return Status::BadArgument("record value must be a string or base64");
  }
  auto version = DecimalMember(value, "version");
  if (!version.ok()) return version.status();
  record.entry.version = uint64_t(version.value());
  auto tombstone = StructBool(value, "tombstone");
  if (!tombstone.ok()) return tombstone.status();
  record.entry.tombstone = tombstone.value();
  auto expires = DecimalMember(value, "expires_at_ms");
  if (!expires.ok()) return expires.status();
  record.entry.expires_at_ms = expires.value();
  auto written = DecimalMember(value, "written_at_ms");
  if (!written.ok()) return written.status();
  record.entry.written_at_ms = written.value();
  return record;
}

Result<std::vector<Record>> RecordsFromXml(const xmlrpc_c::value& value, int bits) {
  if (value.type() != xmlrpc_c::value::TYPE_ARRAY) {
    return Status::BadArgument("expected an array of records");
  }
  std::vector<Record> records;
  for (const auto& item : xmlrpc_c::value_array(value).vectorValueValue()) {
    auto record = RecordFromXml(item, bits);
    if (!record.ok()) return record.status();
    records.push_back(std::move(record.value()));
  }
  return records;
}

}  // namespace chord
