#include "nn/sequential.hpp"

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

namespace {

// A BatchNorm normalizes the Z of the Dense layer directly before it and shares its number l
// (gamma[l], beta[l]): anywhere else it would take another layer's number, or the same one as a
// second BatchNorm, and its names would clash on the tape. Checked before anything is changed.
template <class T>
void check_batch_norm_placement(const std::vector<std::unique_ptr<Layer<T>>>& layers) {
  constexpr const char* rule =
      "each BatchNorm must directly follow its own Dense layer (Dense → BatchNorm → activation)";
  int l = 0;  // the number of the last Dense layer seen
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i]->kind() == LayerKind::dense) ++l;
    if (layers[i]->kind() != LayerKind::batch_norm) continue;
    if (i == 0)
      throw ConfigError(fmt::format("Sequential: layer 0, {}, is the first layer: {}", layers[i]->describe(), rule));
    if (layers[i - 1]->kind() != LayerKind::dense)
      throw ConfigError(fmt::format("Sequential: layer {}, {}, follows layer {}, {}, not a Dense layer: {}", i,
                                    layers[i]->describe(), i - 1, layers[i - 1]->describe(), rule));
    const auto* dense = static_cast<const Dense<T>*>(layers[i - 1].get());
    if (dense->activation() != Activation::linear)
      throw ConfigError(fmt::format("Sequential: Dense layer {} has activation {} but is followed by BatchNorm, "
                                    "which normalizes Z before the activation: give Dense no activation and add "
                                    ".activation({}) after the BatchNorm",
                                    l, to_string(dense->activation()), to_string(dense->activation())));
  }
}

}  // namespace

template <class T>
Sequential<T>& Sequential<T>::add(std::unique_ptr<Layer<T>> layer) {
  if (built()) throw ConfigError("Sequential: cannot add a layer to a built model");
  layers_.push_back(std::move(layer));
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::dense(std::size_t units, Activation activation, Init init, std::size_t inputs) {
  return add(std::make_unique<Dense<T>>(units, activation, init, inputs));
}
template <class T>
Sequential<T>& Sequential<T>::activation(Activation a, double leaky_slope) {
  return add(std::make_unique<ActivationLayer<T>>(a, leaky_slope));
}
template <class T>
Sequential<T>& Sequential<T>::dropout(double keep_prob) {
  return add(std::make_unique<Dropout<T>>(keep_prob));
}
template <class T>
Sequential<T>& Sequential<T>::batch_norm(double momentum, double epsilon) {
  return add(std::make_unique<BatchNorm<T>>(momentum, epsilon));
}

template <class T>
void Sequential<T>::build(std::size_t n_x, std::uint64_t seed) {
  if (n_x == 0) throw ConfigError("Sequential: inputs must have at least one feature");
  if (layers_.empty()) throw ConfigError("Sequential: the model has no layers");
  if (built()) {
    if (n_x != n_x_) throw ConfigError(fmt::format("Sequential: built for {} input features, given {}", n_x_, n_x));
    return;
  }
  check_batch_norm_placement(layers_);
  seed_ = seed;
  // β replaces the bias of a Dense layer followed by BatchNorm.
  for (std::size_t i = 0; i + 1 < layers_.size(); ++i)
    if (layers_[i]->kind() == LayerKind::dense && layers_[i + 1]->kind() == LayerKind::batch_norm)
      static_cast<Dense<T>*>(layers_[i].get())->set_bias(false);
  std::size_t n = n_x;
  int l = 0;
  for (auto& layer : layers_) {
    if (layer->kind() == LayerKind::dense) ++l;
    n = layer->build(n, l, seed_);
  }
  n_x_ = n_x;
  n_out_ = n;
}

template <class T>
ad::Var<T> Sequential<T>::forward(ad::Tape<T>& tape, ad::Var<T> X, Mode mode, Layout layout,
                                  std::vector<ad::Var<T>>* layer_outputs) {
  const auto shape = X.shape();
  const std::size_t features = layout == Layout::rows ? shape[1] : shape[0];
  if (!built()) build(features, seed_);
  if (features != n_x_)
    throw ad::ShapeError(fmt::format("Sequential: the model takes {} features but {} is {} ({})", n_x_, X.name(),
                                     ad::to_string(shape),
                                     layout == Layout::rows ? "one example per row" : "one example per column"));
  ad::Var<T> A = X;
  if (layer_outputs) layer_outputs->clear();
  for (auto& layer : layers_) {
    A = layer->apply(tape, A, mode, layout);
    if (layer_outputs) layer_outputs->push_back(A);
  }
  return to_columns(A, layout);
}

template <class T>
std::vector<ad::Parameter<T>*> Sequential<T>::parameters() const {
  std::vector<ad::Parameter<T>*> out;
  for (auto& layer : layers_)
    for (auto* p : layer->parameters()) out.push_back(p);
  return out;
}

template <class T>
std::vector<ad::Parameter<T>*> Sequential<T>::weights() const {
  std::vector<ad::Parameter<T>*> out;
  for (auto& layer : layers_)
    for (auto* p : layer->weights()) out.push_back(p);
  return out;
}

template <class T>
std::vector<Buffer<T>> Sequential<T>::buffers() const {
  std::vector<Buffer<T>> out;
  for (auto& layer : layers_)
    for (auto& b : layer->buffers()) out.push_back(b);
  return out;
}

template <class T>
ad::Parameter<T>& Sequential<T>::parameter(const std::string& name) const {
  std::string known;
  for (auto* p : parameters()) {
    if (p->name == name) return *p;
    known += (known.empty() ? "" : ", ") + p->name;
  }
  throw ConfigError(fmt::format("Sequential: no parameter named '{}' (the model has: {})", name,
                                known.empty() ? "none, it is not built" : known));
}

template <class T>
std::size_t Sequential<T>::parameter_count() const {
  std::size_t n = 0;
  for (auto* p : parameters()) n += p->value.size();
  return n;
}

template <class T>
nlohmann::json Sequential<T>::spec() const {
  nlohmann::json layers = nlohmann::json::array();
  for (auto& layer : layers_) layers.push_back(layer->spec());
  return {{"inputs", n_x_}, {"seed", seed_}, {"layers", layers}};
}

template <class T>
Sequential<T> Sequential<T>::from_spec(const nlohmann::json& spec) {
  Sequential<T> model;
  try {
    for (const auto& s : spec.at("layers")) {
      const std::string type = s.at("type");
      if (type == "dense") {
        const auto& i = s.at("init");
        Init init{init_kind_from_string(i.at("kind")), distribution_from_string(i.at("distribution")),
                  i.at("scale").get<double>()};
        auto dense = std::make_unique<Dense<T>>(s.at("units").get<std::size_t>(), activation_from_string(s.at("activation")),
                                                init, s.at("inputs").get<std::size_t>(), s.at("leaky_slope").get<double>());
        dense->set_bias(s.at("bias").get<bool>());
        model.add(std::move(dense));
      } else if (type == "activation") {
        model.activation(activation_from_string(s.at("activation")), s.at("leaky_slope").get<double>());
      } else if (type == "dropout") {
        model.dropout(s.at("keep_prob").get<double>());
      } else if (type == "batch_norm") {
        model.batch_norm(s.at("momentum").get<double>(), s.at("epsilon").get<double>());
      } else {
        throw ConfigError(fmt::format("Sequential::from_spec: unknown layer type '{}'", type));
      }
    }
    const auto n_x = spec.at("inputs").get<std::size_t>();
    const auto seed = spec.at("seed").get<std::uint64_t>();
    model.set_seed(seed);
    if (n_x != 0) model.build(n_x, seed);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("Sequential::from_spec: malformed model description: {}", e.what()));
  }
  return model;
}

template <class T>
std::string Sequential<T>::summary() const {
  std::string s;
  for (std::size_t i = 0; i < layers_.size(); ++i) s += fmt::format("{:>3}  {}\n", i, layers_[i]->describe());
  s += fmt::format("     inputs {}, outputs {}, {} parameters\n", n_x_, n_out_, parameter_count());
  return s;
}

template <class U, class T>
Sequential<U> convert(const Sequential<T>& model) {
  auto out = Sequential<U>::from_spec(model.spec());
  auto src = model.parameters();
  auto dst = out.parameters();
  for (std::size_t k = 0; k < src.size(); ++k) {
    dst[k]->value = xt::cast<U>(src[k]->value);
    dst[k]->trainable = src[k]->trainable;
    dst[k]->zero_grad();
  }
  auto sb = model.buffers();
  auto db = out.buffers();
  for (std::size_t k = 0; k < sb.size(); ++k) *db[k].value = xt::cast<U>(*sb[k].value);
  return out;
}

template class Sequential<float>;
template class Sequential<double>;
template Sequential<double> convert<double, float>(const Sequential<float>&);
template Sequential<float> convert<float, double>(const Sequential<double>&);
template Sequential<double> convert<double, double>(const Sequential<double>&);
template Sequential<float> convert<float, float>(const Sequential<float>&);

}  // namespace nn
