#include "nn/gradcheck.hpp"

#include <iostream>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

template <class T>
gc::Report check_gradients(const Sequential<T>& model, Loss loss, const Dataset<T>& data,
                           std::span<const std::size_t> batch, double l2, gc::Options options) {
  if (!model.built()) throw ConfigError("check_gradients: the model is not built");
  if (batch.empty()) throw DataError("check_gradients: empty batch");
  data.check("check_gradients", model.input_size());
  check_indices(batch, data.size(), "check_gradients");
  auto copy = convert<double>(model);
  ad::Tensor<double> x, y;
  {
    ad::Tensor<T> xt_, yt_;
    gather_rows(data.x, batch, xt_);
    gather_columns(data.y, batch, yt_);
    x = xt::cast<double>(xt_);
    y = xt::cast<double>(yt_);
  }
  auto graph = record_graph(copy, GraphSpec{.loss = loss,
                                            .mode = Mode::train,
                                            .batch = batch.size(),
                                            .features = x.shape()[1],
                                            .outputs = y.shape()[0],
                                            .l2 = l2,
                                            .who = "check_gradients"});
  auto& tape = *graph.tape;
  tape.input_buffer(graph.X, ad::shape_of(x)) = x;
  tape.input_buffer(graph.Y, ad::shape_of(y)) = y;
  tape.set_frozen(true);  // the batch's forward with the masks drawn at recording; no statistics moved
  tape.forward();
  tape.set_frozen(false);
  // Lets the checker recognise a backward that left out the L2 term.
  if (l2 > 0 && options.l2_scale == 0) options.l2_scale = l2 / double(batch.size());
  return gc::check(tape, graph.J, copy.parameters(), options);
}

template <class T>
typename Trainer<T>::StepCallback gradcheck_callback(GradcheckCallbackOptions o,
                                                    std::shared_ptr<std::vector<gc::Report>> reports) {
  return [o, reports](Trainer<T>& trainer, const StepEvent<T>& e) {
    const bool due = e.step == o.at_step || (o.every && e.step > o.at_step && (e.step - o.at_step) % o.every == 0);
    if (!due) return;
    auto batch = e.indices;
    if (o.max_examples && batch.size() > o.max_examples) batch = batch.first(o.max_examples);
    auto report = check_gradients(trainer.model(), trainer.loss(), *e.data, batch, trainer.options().l2, o.check);
    std::ostream& out = o.out ? *o.out : std::cout;
    out << fmt::format("gradient check after step {} (epoch {}), {} examples:\n{}", e.step, e.epoch, batch.size(),
                       report.table());
    const bool passed = report.passed();
    const std::string table = report.table();
    if (reports) reports->push_back(std::move(report));
    if (!passed && o.throw_on_failure)
      throw GradcheckError(fmt::format("gradient check failed after step {}:\n{}", e.step, table));
  };
}

template gc::Report check_gradients(const Sequential<float>&, Loss, const Dataset<float>&, std::span<const std::size_t>,
                                    double, gc::Options);
template gc::Report check_gradients(const Sequential<double>&, Loss, const Dataset<double>&,
                                    std::span<const std::size_t>, double, gc::Options);
template Trainer<float>::StepCallback gradcheck_callback<float>(GradcheckCallbackOptions,
                                                                std::shared_ptr<std::vector<gc::Report>>);
template Trainer<double>::StepCallback gradcheck_callback<double>(GradcheckCallbackOptions,
                                                                  std::shared_ptr<std::vector<gc::Report>>);

}  // namespace nn
