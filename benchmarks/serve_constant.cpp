// The limit of the HTTP layer: a cpp-httplib server that answers POST
// /v1/models/NAME:predict with a constant body, on the same thread pool size as `mlops
// serve --threads N`. benchmarks/serve_bench.sh compares `mlops serve` against it.
//   mlops_serve_constant PORT THREADS
#include <httplib.h>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const int port = std::atoi(argv[1]);
  const std::size_t threads = static_cast<std::size_t>(std::atoi(argv[2]));
  httplib::Server s;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  s.Post(R"(/v1/models/([A-Za-z0-9_.\-]+):predict)", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"predictions":[267796.2190179674],"model_version":"1","request_id":"x"})", "application/json");
  });
  return s.listen("127.0.0.1", port) ? 0 : 1;
}
