// `actk lab`: the gradient-flow lab of host/lab, from the command line.
#pragma once

namespace actk::cli {

/// Parses the arguments after "lab", runs the lab and prints its tables; the exit status.
int lab(int argc, char** argv);

}  // namespace actk::cli
