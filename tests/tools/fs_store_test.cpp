// chord-fs's records without a ring: directory records and file manifests round-trip, names
// with spaces, newlines and backslashes survive, and a manifest with chord-fs's optional lines
// still parses with the four mandatory fields (as an older parser reads it) and names its chunks
// under its prefix.
#define BOOST_TEST_MODULE tools_fs_store
#define BOOST_TEST_DYN_LINK
#include "tools/fs/fs_store.h"

#include <boost/test/unit_test.hpp>

#include "dht/dht_client.h"

namespace {

BOOST_AUTO_TEST_CASE(directory_records_round_trip) {
  chord::FsDir dir;
  dir.mode = 0750;
  dir.mtime_ns = 1234567890123456789;
  dir.Put({'f', "plain", ""});
  dir.Put({'d', "with space and\nnewline \\ backslash", ""});
  dir.Put({'l', "link", "../some target\\x"});
  dir.Put({'f', "plain", ""});  // replaces, not twice
  auto decoded = chord::DecodeDir(chord::EncodeDir(dir));
  BOOST_REQUIRE(decoded.ok());
  BOOST_TEST(decoded->mode == 0750u);
  BOOST_TEST(decoded->mtime_ns == dir.mtime_ns);
  BOOST_REQUIRE(decoded->entries.size() == 3u);
  BOOST_TEST(decoded->Find("with space and\nnewline \\ backslash")->type == 'd');
  BOOST_TEST(decoded->Find("link")->target == "../some target\\x");
  BOOST_TEST(decoded->Erase("plain"));
  BOOST_TEST(!decoded->Erase("plain"));
  BOOST_TEST(!chord::DecodeDir("chord-file 1\n").ok());
}

BOOST_AUTO_TEST_CASE(paths_map_to_put_file_names) {
  BOOST_TEST(chord::FileKey("/a/b/c") == "a/b/c");
  BOOST_TEST(chord::DirKey("/a") == "chord-fs/dir:/a");
  BOOST_TEST(chord::ParentPath("/a/b") == "/a");
  BOOST_TEST(chord::ParentPath("/a") == "/");
  BOOST_TEST(chord::BaseName("/a/b") == "b");
  BOOST_TEST(chord::JoinPath("/", "a") == "/a");
  BOOST_TEST(chord::JoinPath("/a", "b") == "/a/b");
}

BOOST_AUTO_TEST_CASE(manifests_with_optional_lines_stay_readable) {
  chord::DhtFileInfo info;
  info.size = 600000;
  info.chunk_bytes = 262144;
  info.chunks = 3;
  info.sha1 = "00112233445566778899aabbccddeeff00112233";
  // Without the optional fields the text is exactly what put-file always wrote.
  BOOST_TEST(chord::FileManifest(info) ==
             "chord-file 1\nsize 600000\nchunks 3\nchunk-bytes 262144\nsha1 " + info.sha1 + "\n");
  BOOST_TEST(chord::DhtClient::ChunkKey(info, "a/b", 2) == "a/b#chunk-2");
  info.mode = 0100640;
  info.mtime_ns = 42;
  info.chunk_prefix = "chord-fs/data/0123456789abcdef";
  auto parsed = chord::ParseFileManifest(chord::FileManifest(info));
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->mode == 0100640u);
  BOOST_TEST(parsed->mtime_ns == 42);
  BOOST_TEST(parsed->chunk_prefix == info.chunk_prefix);
  BOOST_TEST(parsed->size == info.size);
  BOOST_TEST(chord::DhtClient::ChunkKey(*parsed, "a/b", 2) ==
             "chord-fs/data/0123456789abcdef#chunk-2");
}

}  // namespace
