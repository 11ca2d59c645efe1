#include "tools/ring_file.h"

#include <fstream>

#include "settings/settings.h"

namespace chord {

Result<std::vector<std::string>> ReadRingFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status::BadArgument("cannot read ring file " + path +
                               " (start a ring with create_chord, or give --node)");
  }
  std::vector<std::string> members;
  std::string line;
  while (std::getline(in, line)) {
    auto start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    auto end = line.find_last_not_of(" \t\r");
    std::string address = line.substr(start, end - start + 1);
    if (!ParseHostPort(address, nullptr, nullptr)) {
      return Status::BadArgument(path + ": '" + address + "' is not HOST:PORT");
    }
    members.push_back(address);
  }
  if (members.empty()) return Status::BadArgument("ring file " + path + " is empty");
  return members;
}

bool ParsePositive(const std::string& text, int* value) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  *value = std::stoi(text);
  return *value > 0;
}

}  // namespace chord
