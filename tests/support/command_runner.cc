#include "tests/support/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace certfleet::testing {
namespace {

void DrainPipes(int output_descriptor, int error_descriptor, CommandResult& result) {
  pollfd descriptors[2] = {{output_descriptor, POLLIN, 0}, {error_descriptor, POLLIN, 0}};
  std::string* sinks[2] = {&result.standard_output, &result.standard_error};
  int open_count = 2;
  char buffer[8192];
  while (open_count > 0) {
    if (poll(descriptors, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    for (int i = 0; i < 2; ++i) {
      if (descriptors[i].fd < 0 || descriptors[i].revents == 0) continue;
      const ssize_t count = read(descriptors[i].fd, buffer, sizeof(buffer));
      if (count > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(count));
      } else if (count == 0 || errno != EINTR) {
        close(descriptors[i].fd);
        descriptors[i].fd = -1;
        --open_count;
      }
    }
  }
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& arguments) {
  int output_pipe[2];
  int error_pipe[2];
  if (pipe2(output_pipe, O_CLOEXEC) != 0 || pipe2(error_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, output_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, error_pipe[1], 2);

  std::vector<char*> argv;
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);

  pid_t child = 0;
  const int spawned = posix_spawn(&child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(output_pipe[1]);
  close(error_pipe[1]);
  if (spawned != 0) {
    close(output_pipe[0]);
    close(error_pipe[0]);
    throw std::runtime_error("cannot start " + arguments[0] + ": " + std::strerror(spawned));
  }

  CommandResult result;
  DrainPipes(output_pipe[0], error_pipe[0], result);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string BinaryPath(const std::string& name) {
  return std::string(CERTFLEET_BINARY_DIR) + "/bin/" + name;
}

}  // namespace certfleet::testing
