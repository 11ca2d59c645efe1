#include "settings/secret.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace chord {

Result<std::string> LoadSecret(const std::string& path) {
  const std::string where = "--secret-file " + path;
  if (path.empty()) return Status::BadArgument("--secret-file: no file named");
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return Status::BadArgument(where + ": is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::BadArgument(where + ": cannot open: " + std::strerror(errno));
  // One byte more than the limit plus a "\r\n" tells "too long" apart from "at the limit".
  std::string secret(kMaxSecretBytes + 3, '\0');
  in.read(&secret[0], std::streamsize(secret.size()));
  if (in.bad()) return Status::BadArgument(where + ": cannot read: " + std::strerror(errno));
  secret.resize(size_t(in.gcount()));
  if (!in.eof()) {  // the buffer filled up before the end of the file
    return Status::BadArgument(where + ": the secret is longer than " +
                               std::to_string(kMaxSecretBytes) + " bytes");
  }
  if (!secret.empty() && secret.back() == '\n') {
    secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  }
  if (secret.empty()) return Status::BadArgument(where + ": the file is empty (no secret)");
  if (secret.size() > kMaxSecretBytes) {
    return Status::BadArgument(where + ": the secret is longer than " +
                               std::to_string(kMaxSecretBytes) + " bytes");
  }
  return secret;
}

}  // namespace chord
