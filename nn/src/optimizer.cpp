#include "nn/optimizer.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>

#include <fmt/format.h>

#include <autodiff/parallel.hpp>

#include "nn/errors.hpp"
#include "finite.hpp"

namespace nn {

namespace {

// Updates are elementwise and memory-bound: split over OpenBLAS's threads (ad::parallel_for) from
// 2 × 8192 elements on (W[1] of a 784-256 layer is 200k; a split costs ~2 µs, 8192 Adam elements ~5 µs).
constexpr std::size_t kGrain = 8192;

// Hyperparameter checks shared by the constructors and configure() (a checkpoint's manifest).
void require_decay(const char* optimizer, const char* which, double beta) {
  if (!(beta >= 0 && beta < 1)) throw ConfigError(fmt::format("{}: {} must be in [0, 1), got {}", optimizer, which, beta));
}
void require_epsilon(const char* optimizer, double epsilon) {
  if (!(epsilon > 0 && std::isfinite(epsilon)))
    throw ConfigError(fmt::format("{}: epsilon must be > 0 (it keeps the update's denominator away from 0), got {}",
                                  optimizer, epsilon));
}

// The update loops, as functions of plain pointers over [begin, end) (called from the parallel
// pieces: GCC 12 does not vectorize a loop that reads pointers captured by a lambda).
template <class T>
void descend(T* w, const T* g, T alpha, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) w[i] -= alpha * g[i];
}

template <class T>
void momentum(T* w, const T* g, T* v, T b, T c, T alpha, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    v[i] = b * v[i] + c * g[i];
    w[i] -= alpha * v[i];
  }
}

template <class T>
void rmsprop(T* w, const T* g, T* sq, T b, T c, T eps, T alpha, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    sq[i] = b * sq[i] + c * g[i] * g[i];
    w[i] -= alpha * g[i] / (std::sqrt(sq[i]) + eps);
  }
}

// One pass: both moments and the parameter, per element (vsqrtps/vdivps on zmm). Its cost is the
// memory traffic (4 values read, 3 written per element; the moments come from L3 each step), not
// the arithmetic. Asking for the moments and the parameter 1 KiB ahead, one cache line at a time,
// overlaps their fetch with the arithmetic: Adam over W[1] (784-256) after its GEMM, 72 → 66 µs.
template <class T>
void adam(T* w, const T* g, T* v, T* sq, T b1, T b2, T c1, T c2, T eps, T alpha, std::size_t begin,
          std::size_t end) {
  constexpr std::size_t line = 64 / sizeof(T), ahead = 1024 / sizeof(T);
  for (std::size_t block = begin; block < end; block += line) {
    if (block + ahead < end) {
      __builtin_prefetch(v + block + ahead, 1);
      __builtin_prefetch(sq + block + ahead, 1);
      __builtin_prefetch(w + block + ahead, 1);
    }
    const std::size_t stop = std::min(end, block + line);
    for (std::size_t i = block; i < stop; ++i) {
      v[i] = b1 * v[i] + (T(1) - b1) * g[i];
      sq[i] = b2 * sq[i] + (T(1) - b2) * g[i] * g[i];
      w[i] -= alpha * (v[i] * c1) / (std::sqrt(sq[i] * c2) + eps);
    }
  }
}

}  // namespace

template <class T>
Optimizer<T>::Optimizer(double learning_rate, Schedule schedule)
    : alpha0_(learning_rate), alpha_(learning_rate), schedule_(schedule) {
  schedule_.validate();
  if (!(learning_rate > 0 && std::isfinite(learning_rate)))
    throw ConfigError(fmt::format("optimizer: learning rate must be > 0, got {}", learning_rate));
}

template <class T>
void Optimizer<T>::set_learning_rate(double alpha0) {
  if (!(alpha0 > 0 && std::isfinite(alpha0))) throw ConfigError(fmt::format("optimizer: learning rate must be > 0, got {}", alpha0));
  alpha0_ = alpha0;
  alpha_ = schedule_.at(alpha0_, epoch_);
}

template <class T>
void Optimizer<T>::set_epoch(std::size_t epoch) {
  epoch_ = epoch;
  alpha_ = schedule_.at(alpha0_, epoch);
}

template <class T>
void Optimizer<T>::bind(const std::vector<ad::Parameter<T>*>& params) {
  bool same = params == bound_;
  for (std::size_t k = 0; same && k < params.size(); ++k) same = params[k]->name == bound_names_[k];
  if (same) return;
  const auto names = slots();
  slot_count_ = names.size();
  std::vector<ad::Tensor<T>*> found;
  for (auto* p : params)
    for (const auto& slot : names) {
      const std::string key = slot + "/" + p->name;
      auto [it, fresh] = state_.try_emplace(key);
      if (fresh) it->second = xt::zeros<T>(p->value.shape());
      else if (ad::shape_of(it->second) != ad::shape_of(p->value))
        throw ConfigError(fmt::format("{}: state '{}' is {} but parameter {} is {}", name(), key,
                                      ad::to_string(ad::shape_of(it->second)), p->name,
                                      ad::to_string(ad::shape_of(p->value))));
      found.push_back(&it->second);
    }
  bound_ = params;
  bound_names_.clear();
  for (auto* p : params) bound_names_.push_back(p->name);
  bound_slots_ = std::move(found);
}

template <class T>
void Optimizer<T>::step(const std::vector<ad::Parameter<T>*>& params) {
  bind(params);
  std::size_t elements = 0;
  for (auto* p : params) {
    if (!p->trainable) continue;
    if (ad::shape_of(p->grad) != ad::shape_of(p->value))
      throw ConfigError(fmt::format("{}: gradient of {} is {} but its value is {} (no backward yet?)", name(), p->name,
                                    ad::to_string(ad::shape_of(p->grad)), ad::to_string(ad::shape_of(p->value))));
    elements += p->value.size();
  }
  // One parallel region for all parameters: piece i of `parts` updates the i-th part of every
  // parameter, so each thread gets the same share of the biggest one, the same share as in the
  // GEMM that just wrote its gradient (see ad::parallel_for), for one hand-over per step.
  const std::size_t per = slot_count_;  // not slots().size(): that builds a vector every step
  const std::size_t parts = elements >= 2 * kGrain ? std::size_t(ad::parallel_threads()) : 1;
  check_finite(params, parts);
  ++t_;
  const T alpha = T(alpha_);
  ad::parallel_for(parts, 1, [&](std::size_t first, std::size_t last) {
    for (std::size_t k = 0; k < params.size(); ++k) {
      auto& p = *params[k];
      if (!p.trainable) continue;
      const std::size_t n = p.value.size();
      update(p, per ? &bound_slots_[k * per] : nullptr, alpha, n * first / parts, n * last / parts);
    }
  });
}

// A pass over every gradient before the update pass, split over the threads as the update is:
// an update cannot be undone (SGD's, and the moments of the others), so it must not start before
// every gradient is known to be finite. The gradients were just written by backward and are
// mostly in cache; the pass is memory-bound integer AND/MAX (see finite.hpp).
template <class T>
void Optimizer<T>::check_finite(const std::vector<ad::Parameter<T>*>& params, std::size_t parts) const {
  std::atomic<bool> bad{false};
  ad::parallel_for(parts, 1, [&](std::size_t first, std::size_t last) {
    for (auto* p : params) {
      if (!p->trainable) continue;
      const std::size_t n = p->grad.size();
      if (!detail::all_finite(p->grad.data(), n * first / parts, n * last / parts)) {
        bad.store(true, std::memory_order_relaxed);
        return;
      }
    }
  });
  if (!bad.load()) return;
  for (auto* p : params) {
    if (!p->trainable) continue;
    const std::size_t n = p->grad.size(), k = detail::first_non_finite(p->grad.data(), n);
    if (k < n)
      throw NonFiniteGradient(fmt::format("{}: the gradient of {} is not finite (element {} of {} is {}): the "
                                          "update was not applied",
                                          name(), p->name, k, n, p->grad.data()[k]),
                              p->name, k);
  }
}

template <class T>
nlohmann::json Optimizer<T>::config() const {
  return {{"name", name()}, {"learning_rate", alpha0_}, {"schedule", schedule_.to_json()}, {"t", t_},
          {"epoch", epoch_}};
}

template <class T>
void Optimizer<T>::configure(const nlohmann::json& c) {
  try {
    if (c.at("name") != name())
      throw ConfigError(fmt::format("{}: cannot take the configuration of {}", name(), c.at("name").dump()));
    // Everything is read and checked before anything changes: a refused configuration leaves
    // the optimizer as it was (read_config checks its own values before it assigns them).
    const Schedule schedule = Schedule::from_json(c.at("schedule"));
    const double alpha0 = c.at("learning_rate").get<double>();
    if (!(alpha0 > 0 && std::isfinite(alpha0)))
      throw ConfigError(fmt::format("{}: learning rate must be > 0, got {}", name(), alpha0));
    read_config(c);
    schedule_ = schedule;
    set_learning_rate(alpha0);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("{}: malformed configuration: {}", name(), e.what()));
  }
}

template <class T>
void Optimizer<T>::restore(std::map<std::string, ad::Tensor<T>> state, std::size_t steps, std::size_t epoch) {
  state_ = std::move(state);
  bound_.clear();
  bound_names_.clear();
  bound_slots_.clear();
  t_ = steps;
  set_epoch(epoch);
}

template <class T>
void Optimizer<T>::reset() {
  restore({}, 0, 0);
}

template <class T>
void GradientDescent<T>::update(ad::Parameter<T>& p, ad::Tensor<T>* const*, T alpha, std::size_t begin,
                                std::size_t end) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  descend(w, g, alpha, begin, end);
}

template <class T>
Momentum<T>::Momentum(double learning_rate, double beta, Schedule schedule)
    : Optimizer<T>(learning_rate, schedule), beta_(beta) {
  require_decay("momentum", "beta", beta);
}

template <class T>
void Momentum<T>::update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  T* v = s[0]->data();
  const T b = T(beta_), c = T(1 - beta_);
  momentum(w, g, v, b, c, alpha, begin, end);
}

template <class T>
nlohmann::json Momentum<T>::config() const {
  auto j = Optimizer<T>::config();
  j["beta"] = beta_;
  return j;
}

template <class T>
void Momentum<T>::read_config(const nlohmann::json& c) {
  const double beta = c.at("beta").get<double>();
  require_decay("momentum", "beta", beta);
  beta_ = beta;
}

template <class T>
RMSProp<T>::RMSProp(double learning_rate, double beta2, double epsilon, Schedule schedule)
    : Optimizer<T>(learning_rate, schedule), beta2_(beta2), epsilon_(epsilon) {
  require_decay("rmsprop", "beta2", beta2);
  require_epsilon("rmsprop", epsilon);
}

template <class T>
void RMSProp<T>::update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  T* sq = s[0]->data();
  const T b = T(beta2_), c = T(1 - beta2_), eps = T(epsilon_);
  rmsprop(w, g, sq, b, c, eps, alpha, begin, end);
}

template <class T>
nlohmann::json RMSProp<T>::config() const {
  auto j = Optimizer<T>::config();
  j["beta2"] = beta2_;
  j["epsilon"] = epsilon_;
  return j;
}

template <class T>
void RMSProp<T>::read_config(const nlohmann::json& c) {
  const double beta2 = c.at("beta2").get<double>(), epsilon = c.at("epsilon").get<double>();
  require_decay("rmsprop", "beta2", beta2);
  require_epsilon("rmsprop", epsilon);
  beta2_ = beta2;
  epsilon_ = epsilon;
}

template <class T>
Adam<T>::Adam(double learning_rate, double beta1, double beta2, double epsilon, Schedule schedule)
    : Optimizer<T>(learning_rate, schedule), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
  require_decay("adam", "beta1", beta1);
  require_decay("adam", "beta2", beta2);
  require_epsilon("adam", epsilon);
}

template <class T>
void Adam<T>::update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) {
  T* w = p.value.data();
  const T* g = p.grad.data();
  T* v = s[0]->data();
  T* sq = s[1]->data();
  const double t = double(this->t());
  // Bias correction: the moments start at zero and are too small in the first steps.
  const T c1 = T(1 / (1 - std::pow(beta1_, t))), c2 = T(1 / (1 - std::pow(beta2_, t)));
  const T b1 = T(beta1_), b2 = T(beta2_), eps = T(epsilon_);
  adam(w, g, v, sq, b1, b2, c1, c2, eps, alpha, begin, end);
}

template <class T>
nlohmann::json Adam<T>::config() const {
  auto j = Optimizer<T>::config();
  j["beta1"] = beta1_;
  j["beta2"] = beta2_;
  j["epsilon"] = epsilon_;
  return j;
}

template <class T>
void Adam<T>::read_config(const nlohmann::json& c) {
  const double beta1 = c.at("beta1").get<double>(), beta2 = c.at("beta2").get<double>(),
               epsilon = c.at("epsilon").get<double>();
  require_decay("adam", "beta1", beta1);
  require_decay("adam", "beta2", beta2);
  require_epsilon("adam", epsilon);
  beta1_ = beta1;
  beta2_ = beta2;
  epsilon_ = epsilon;
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const nlohmann::json& c) {
  try {
    const std::string n = c.at("name");
    const double lr = c.at("learning_rate");
    const Schedule s = Schedule::from_json(c.at("schedule"));
    std::unique_ptr<Optimizer<T>> o;
    if (n == "gradient_descent") o = std::make_unique<GradientDescent<T>>(lr, s);
    else if (n == "momentum") o = std::make_unique<Momentum<T>>(lr, c.at("beta").get<double>(), s);
    else if (n == "rmsprop") o = std::make_unique<RMSProp<T>>(lr, c.at("beta2").get<double>(), c.at("epsilon").get<double>(), s);
    else if (n == "adam")
      o = std::make_unique<Adam<T>>(lr, c.at("beta1").get<double>(), c.at("beta2").get<double>(),
                                    c.at("epsilon").get<double>(), s);
    else throw ConfigError("make_optimizer: unknown optimizer '" + n + "'");
    return o;
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("make_optimizer: malformed configuration: {}", e.what()));
  }
}

#define NN_INSTANTIATE(T)                                                        \
  template class Optimizer<T>;                                                   \
  template class GradientDescent<T>;                                             \
  template class Momentum<T>;                                                    \
  template class RMSProp<T>;                                                     \
  template class Adam<T>;                                                        \
  template std::unique_ptr<Optimizer<T>> make_optimizer<T>(const nlohmann::json&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)

}  // namespace nn
