// The nanny's command-line handling: `dask worker`'s --nanny/--no-nanny/--nworkers
// rules (distributed/cli/dask_worker.py main), the worker process's command line,
// and WorkerProcess's exit-status reporting. Pure functions: no processes spawned.

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <vector>

#include "worker/nanny/worker_args.hpp"
#include "worker/nanny/worker_process.hpp"
#include "worker/server/cli_options.hpp"

namespace daskcpp::worker {
namespace {

using Args = std::vector<std::string>;

TEST_CASE("the nanny is the default, as in dask worker") {
  auto cli = parse_cli_options({"daskcpp-worker", "tcp://s:1"});
  REQUIRE(cli.ok());
  CHECK(cli->nanny);
  CHECK(cli->nworkers == 1);
  CHECK(cli->nanny_port == 0);
  CHECK(cli->nanny_address.empty());
  CHECK(cli->nanny_ready_fd == -1);
}

TEST_CASE("resources parse as dask worker's, space or comma separated") {
  auto cli = parse_cli_options({"w", "tcp://s:1", "--resources", "GPU=2 MEM=10e9"});
  REQUIRE(cli.ok());
  CHECK(cli->resources == std::map<std::string, double>{{"GPU", 2}, {"MEM", 10e9}});
  auto commas = parse_resources("GPU=0.5,  TPU=1,");
  REQUIRE(commas.ok());
  CHECK(*commas == std::map<std::string, double>{{"GPU", 0.5}, {"TPU", 1}});
  CHECK(parse_resources("").ok());
  CHECK_FALSE(parse_resources("GPU").ok());
  CHECK_FALSE(parse_resources("GPU=two").ok());
  CHECK_FALSE(parse_resources("=2").ok());
  // The nanny hands them to its worker process unchanged.
  Args child = nanny::worker_process_args(
      {"w", "tcp://s:1", "--resources", "GPU=1", "--nworkers", "2"}, std::nullopt);
  CHECK(child == Args{"tcp://s:1", "--resources", "GPU=1", "--no-nanny"});
}

TEST_CASE("the last of --nanny/--no-nanny wins") {
  auto off = parse_cli_options({"w", "tcp://s:1", "--nanny", "--no-nanny"});
  REQUIRE(off.ok());
  CHECK_FALSE(off->nanny);
  auto on = parse_cli_options({"w", "tcp://s:1", "--no-nanny", "--nanny"});
  REQUIRE(on.ok());
  CHECK(on->nanny);
}

TEST_CASE("nworkers, nanny-port and the hidden nanny options parse") {
  auto cli = parse_cli_options({"w", "tcp://s:1", "--nworkers", "3", "--nanny-port=0",
                                "--nanny-address", "tcp://127.0.0.1:5",
                                "--nanny-ready-fd", "3"});
  REQUIRE(cli.ok());
  CHECK(cli->nworkers == 3);
  CHECK(cli->nanny_address == "tcp://127.0.0.1:5");
  CHECK(cli->nanny_ready_fd == 3);
  auto port = parse_cli_options({"w", "tcp://s:1", "--nanny-port", "4567"});
  REQUIRE(port.ok());
  CHECK(port->nanny_port == 4567);
}

TEST_CASE("nworkers refuses what dask worker refuses") {
  auto no_nanny = parse_cli_options({"w", "tcp://s:1", "--nworkers", "2", "--no-nanny"});
  REQUIRE_FALSE(no_nanny.ok());
  CHECK(no_nanny.status().message() ==
        "Failed to launch worker.  You cannot use the --no-nanny argument when "
        "n_workers > 1.");
  auto zero = parse_cli_options({"w", "tcp://s:1", "--nworkers", "0"});
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message().find("at least one process") != std::string::npos);
  CHECK_FALSE(parse_cli_options({"w", "tcp://s:1", "--nworkers", "two"}).ok());
  CHECK_FALSE(
      parse_cli_options({"w", "tcp://s:1", "--nworkers", "2", "--worker-port", "9000"})
          .ok());
  CHECK_FALSE(parse_cli_options({"w", "tcp://s:1", "--nanny-port", "70000"}).ok());
  // One worker without a nanny is fine.
  CHECK(parse_cli_options({"w", "tcp://s:1", "--nworkers", "1", "--no-nanny"}).ok());
}

TEST_CASE("worker process args drop the nanny options and keep the rest in order") {
  Args nanny_argv = {"/bin/daskcpp-worker",
                     "--scheduler-file",
                     "s.json",
                     "--nworkers",
                     "2",
                     "--nanny",
                     "--name",
                     "w",
                     "--nthreads",
                     "4",
                     "--nanny-port=0",
                     "--memory-limit",
                     "2GB",
                     "--host",
                     "127.0.0.1"};
  CHECK(nanny::worker_process_args(nanny_argv, std::string("w-1")) ==
        Args{"--scheduler-file", "s.json", "--nthreads", "4", "--memory-limit", "2GB",
             "--host", "127.0.0.1", "--no-nanny", "--name", "w-1"});
  Args positional = {"w",         "tcp://s:1",        "--name=x", "--nanny-address",
                     "tcp://n:1", "--nanny-ready-fd", "3",        "--death-timeout",
                     "20"};
  CHECK(nanny::worker_process_args(positional, std::nullopt) ==
        Args{"tcp://s:1", "--death-timeout", "20", "--no-nanny"});
}

TEST_CASE("the worker process args parse as a no-nanny worker with that name") {
  Args argv = {"daskcpp-worker", "tcp://s:1", "--nworkers", "2", "--name", "w"};
  Args child = nanny::worker_process_args(argv, nanny::worker_name("w", 2, 1));
  child.insert(child.begin(), "daskcpp-worker");
  auto cli = parse_cli_options(child);
  REQUIRE(cli.ok());
  CHECK_FALSE(cli->nanny);
  CHECK(cli->nworkers == 1);
  CHECK(cli->name == std::optional<std::string>("w-1"));
  CHECK(cli->scheduler_address == "tcp://s:1");
}

TEST_CASE("worker names with --nworkers, as dask_worker.py") {
  CHECK(nanny::worker_name("w", 1, 0) == std::optional<std::string>("w"));
  CHECK(nanny::worker_name("w", 3, 2) == std::optional<std::string>("w-2"));
  CHECK(nanny::worker_name(std::nullopt, 3, 2) == std::nullopt);
}

TEST_CASE("exit codes and death messages as multiprocessing/WorkerProcess") {
  // Build wait statuses the way the kernel encodes them (W_EXITCODE).
  CHECK(nanny::exitcode_from_wait_status(0) == 0);
  CHECK(nanny::exitcode_from_wait_status(3 << 8) == 3);
  CHECK(nanny::exitcode_from_wait_status(SIGKILL) == -SIGKILL);
  CHECK(nanny::death_message(42, 3) == "Worker process 42 exited with status 3");
  CHECK(nanny::death_message(42, -9) == "Worker process 42 was killed by signal 9");
  CHECK(nanny::death_message(42, 255) ==
        "Worker process 42 was killed by unknown signal");
}

}  // namespace
}  // namespace daskcpp::worker
