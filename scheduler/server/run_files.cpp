#include "scheduler/server/run_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace daskcpp::scheduler {

Status write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return Status::IOError("cannot open '" + tmp + "': " + std::strerror(errno));
    }
    out << contents;
    out.flush();
    if (!out) return Status::IOError("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Status::IOError("cannot rename '" + tmp + "' to '" + path +
                                "': " + std::strerror(errno));
    std::remove(tmp.c_str());
    return st;
  }
  return Status::OK();
}

Status write_scheduler_file(const std::string& path, const nlohmann::json& identity) {
  return write_file_atomically(path, identity.dump(2));
}

Status write_pid_file(const std::string& path) {
  return write_file_atomically(path, std::to_string(::getpid()) + "\n");
}

void remove_file_quietly(const std::string& path) { std::remove(path.c_str()); }

}  // namespace daskcpp::scheduler
