# Every dependency comes from a Debian package (deploy/install-deps.sh installs
# them) and is found here with find_package; nothing is downloaded at build time.

find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Protobuf 3.21 REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
find_package(pugixml CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
# cpp-httplib (libcpp-httplib-dev) ships a pkg-config file, no CMake package.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CPPHTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)

find_program(CERTFLEET_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

if(CERTFLEET_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
