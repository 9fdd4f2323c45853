# Finds GoogleTest; stops configure naming the Debian package when it is missing.
find_package(GTest CONFIG QUIET)
if(NOT GTest_FOUND)
  find_package(GTest QUIET)
endif()
if(NOT TARGET GTest::gtest_main)
  message(FATAL_ERROR "actk: GoogleTest not found. Install Debian's googletest and libgtest-dev "
                      "(apt-get install -y googletest libgtest-dev), or configure with -DACTK_BUILD_TESTS=OFF.")
endif()
include(GoogleTest)
