// Proof of the shared secret (commands/auth.h): what passes, what is refused and why.
#define BOOST_TEST_MODULE commands_auth
#define BOOST_TEST_DYN_LINK
#include "commands/auth.h"

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

using chord::ErrorCode;
using chord::NewNonce;
using chord::ProofChecker;
using chord::SignRequest;
using chord::Status;

namespace {

constexpr int64_t kNow = 1700000000000;
const std::string kSecret = "correct horse battery staple";
const std::string kBody = "<?xml version=\"1.0\"?><methodCall>...</methodCall>";

void CheckRefused(const Status& status, const std::string& reason) {
  BOOST_CHECK_EQUAL(status.code(), ErrorCode::kRefused);
  BOOST_CHECK_EQUAL(status.message(), reason);
}

}  // namespace

BOOST_AUTO_TEST_CASE(nonces_are_16_hex_digits_and_differ) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string nonce = NewNonce();
    BOOST_REQUIRE_EQUAL(nonce.size(), 16u);
    BOOST_CHECK(nonce.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(nonce);
  }
  BOOST_CHECK_EQUAL(seen.size(), 1000u);
}

BOOST_AUTO_TEST_CASE(header_has_the_documented_form) {
  std::string header = SignRequest(kSecret, "/RPC2", kBody, kNow, "0123456789abcdef");
  BOOST_CHECK_EQUAL(header.substr(0, 47), "v1 ts=1700000000000 nonce=0123456789abcdef mac=");
  BOOST_CHECK_EQUAL(header.size(), 47u + 64u);
  // Deterministic: the same inputs sign the same way (peers in other languages can check).
  BOOST_CHECK_EQUAL(header, SignRequest(kSecret, "/RPC2", kBody, kNow, "0123456789abcdef"));
}

BOOST_AUTO_TEST_CASE(good_proof_passes_within_the_window) {
  ProofChecker checker(kSecret);
  BOOST_CHECK(
      checker.Check(SignRequest(kSecret, "/RPC2", kBody, kNow, NewNonce()), "/RPC2", kBody, kNow)
          .ok());
  // Clocks may differ by up to the window either way.
  for (int64_t skew : std::vector<int64_t>{-60000, -1, 1, 60000}) {
    Status status = checker.Check(SignRequest(kSecret, "/RPC2", kBody, kNow + skew, NewNonce()),
                                  "/RPC2", kBody, kNow);
    BOOST_CHECK_MESSAGE(status.ok(), "skew " << skew << ": " << status.ToString());
  }
  // An empty body and the "/" path are fine too.
  BOOST_CHECK(checker.Check(SignRequest(kSecret, "/", "", kNow, NewNonce()), "/", "", kNow).ok());
}

BOOST_AUTO_TEST_CASE(wrong_secret_is_a_bad_mac) {
  ProofChecker checker(kSecret);
  CheckRefused(checker.Check(SignRequest("wrong secret", "/RPC2", kBody, kNow, NewNonce()), "/RPC2",
                             kBody, kNow),
               "bad mac");
  CheckRefused(
      checker.Check(SignRequest("", "/RPC2", kBody, kNow, NewNonce()), "/RPC2", kBody, kNow),
      "bad mac");
}

BOOST_AUTO_TEST_CASE(altered_request_is_a_bad_mac) {
  ProofChecker checker(kSecret);
  std::string proof = SignRequest(kSecret, "/RPC2", kBody, kNow, NewNonce());
  CheckRefused(checker.Check(proof, "/RPC2", kBody + " ", kNow), "bad mac");
  std::string flipped = kBody;
  flipped[10] ^= 1;
  CheckRefused(checker.Check(proof, "/RPC2", flipped, kNow), "bad mac");
  CheckRefused(checker.Check(proof, "/", kBody, kNow), "bad mac");
  // The timestamp and nonce are covered too: changing either breaks the mac.
  std::string other_ts = proof;
  other_ts.replace(other_ts.find("ts=") + 3, 13, std::to_string(kNow + 1));
  CheckRefused(checker.Check(other_ts, "/RPC2", kBody, kNow), "bad mac");
  std::string other_nonce = proof;
  char& digit = other_nonce[other_nonce.find("nonce=") + 6];
  digit = digit == '0' ? '1' : '0';
  CheckRefused(checker.Check(other_nonce, "/RPC2", kBody, kNow), "bad mac");
  // The untouched proof still passes (nothing above consumed it).
  BOOST_CHECK(checker.Check(proof, "/RPC2", kBody, kNow).ok());
}

BOOST_AUTO_TEST_CASE(old_or_future_timestamp_is_stale) {
  ProofChecker checker(kSecret);
  for (int64_t skew : std::vector<int64_t>{-60001, 60001, -3600000, -kNow}) {
    CheckRefused(checker.Check(SignRequest(kSecret, "/RPC2", kBody, kNow + skew, NewNonce()),
                               "/RPC2", kBody, kNow),
                 "stale timestamp");
  }
}

BOOST_AUTO_TEST_CASE(a_proof_is_used_once) {
  ProofChecker checker(kSecret);
  std::string proof = SignRequest(kSecret, "/RPC2", kBody, kNow, NewNonce());
  BOOST_CHECK(checker.Check(proof, "/RPC2", kBody, kNow).ok());
  CheckRefused(checker.Check(proof, "/RPC2", kBody, kNow + 1000), "replayed");
  // Once its timestamp has left the window it is stale rather than remembered.
  CheckRefused(checker.Check(proof, "/RPC2", kBody, kNow + 60001), "stale timestamp");
}

BOOST_AUTO_TEST_CASE(replay_cache_is_bounded_and_expires) {
  ProofChecker checker(kSecret, 60000, 3);
  for (int i = 0; i < 3; ++i) {
    BOOST_CHECK(
        checker.Check(SignRequest(kSecret, "/RPC2", kBody, kNow, NewNonce()), "/RPC2", kBody, kNow)
            .ok());
  }
  CheckRefused(
      checker.Check(SignRequest(kSecret, "/RPC2", kBody, kNow, NewNonce()), "/RPC2", kBody, kNow),
      "too many proofs in the window");
  // When the remembered proofs leave the window, there is room again.
  int64_t later = kNow + 60001;
  BOOST_CHECK(
      checker.Check(SignRequest(kSecret, "/RPC2", kBody, later, NewNonce()), "/RPC2", kBody, later)
          .ok());
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_header_is_refused) {
  ProofChecker checker(kSecret);
  CheckRefused(checker.Check("", "/RPC2", kBody, kNow), "no proof");
  std::string good = SignRequest(kSecret, "/RPC2", kBody, kNow, "0123456789abcdef");
  std::string mac = good.substr(good.find("mac=") + 4);
  const std::vector<std::string> malformed = {
      "garbage",
      "v2 ts=1700000000000 nonce=0123456789abcdef mac=" + mac,
      "v1 ts=1700000000000 nonce=0123456789abcdef",
      "v1 ts=abc nonce=0123456789abcdef mac=" + mac,
      "v1 ts= nonce=0123456789abcdef mac=" + mac,
      "v1 ts=-1700000000000 nonce=0123456789abcdef mac=" + mac,
      "v1 ts=1700000000000 nonce=0123456789abcde mac=" + mac,
      "v1 ts=1700000000000 nonce=0123456789ABCDEF mac=" + mac,
      "v1 ts=1700000000000 nonce=0123456789abcdef mac=" + mac.substr(1),
      "v1 ts=1700000000000 nonce=0123456789abcdef mac=" + mac + "00",
      "v1 nonce=0123456789abcdef ts=1700000000000 mac=" + mac,
      "v1 ts=1700000000000 nonce=0123456789abcdef mac=" + mac + " extra=1",
      "v1 ts=99999999999999999999999 nonce=0123456789abcdef mac=" + mac,
  };
  for (const auto& header : malformed) {
    Status status = checker.Check(header, "/RPC2", kBody, kNow);
    BOOST_CHECK_MESSAGE(
        status.code() == ErrorCode::kRefused && status.message() == "malformed proof",
        "'" << header << "': " << status.ToString());
  }
  // Surrounding blanks (as HTTP allows) are fine.
  BOOST_CHECK(checker.Check("  " + good + " ", "/RPC2", kBody, kNow).ok());
}

BOOST_AUTO_TEST_CASE(concurrent_checks_accept_each_proof_once) {
  ProofChecker checker(kSecret);
  std::vector<std::string> proofs;
  for (int i = 0; i < 200; ++i) {
    proofs.push_back(SignRequest(kSecret, "/RPC2", kBody, kNow, NewNonce()));
  }
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (const auto& proof : proofs) {
        if (checker.Check(proof, "/RPC2", kBody, kNow).ok()) ++accepted;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_CHECK_EQUAL(accepted.load(), 200);
}
