// The engine's contract on the graph being checked (see contract.cpp), after the check's own
// backward with seed 1: the failures, one sentence each (empty: the contract held).
#pragma once

#include <string>
#include <vector>

#include <autodiff/autodiff.hpp>

namespace gc::detail {

template <class T>
std::vector<std::string> contract(ad::Tape<T>& tape, ad::Var<T> cost, const std::vector<ad::Parameter<T>*>& checked);

}  // namespace gc::detail
