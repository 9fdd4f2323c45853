# Fails unless README.md contains examples/quickstart.cpp verbatim in a ```cpp block,
# so the usage example the README shows is the one the build compiles and runs.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "```cpp\n${example}```" position)
if(position EQUAL -1)
  message(FATAL_ERROR "README.md does not show examples/quickstart.cpp verbatim; copy the file into its ```cpp block")
endif()
