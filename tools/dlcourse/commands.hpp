// The subcommands of `dlcourse`: each adds itself to the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace dlcourse {

void add_train(CLI::App& app);
void add_evaluate(CLI::App& app);
void add_gradcheck(CLI::App& app);
void add_search(CLI::App& app);

}  // namespace dlcourse
