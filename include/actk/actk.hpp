// Umbrella header: everything a user of actk needs.
#pragma once

#include "actk/catalogue.hpp"
#include "actk/error.hpp"
#include "actk/ops.hpp"
#include "actk/structured.hpp"
#include "actk/types.hpp"
#include "actk/version.hpp"
