// Lesson 10 — placeholders and feed_dict (course 2, week 3, "TensorFlow").
//
// The course minimizes J(w) = w² − 10w + 25 = (w − 5)² from w = 0 with gradient descent at
// α = 0.01, in float32: after one step w = 0.1 (printed 0.099999994), after 1000 more 4.9999886.
// Then it feeds the coefficients through a placeholder x, J = x[0]·w² + x[1]·w + x[2], so that
// another feed (1, −20, 100) minimizes (w − 10)² with the same graph.
//
// Here the tape is the graph: tape.input is the placeholder, tape.feed the feed_dict, and
// tape.forward() / tape.backward(J) replay the recorded operations (no rebuild) at every step.
#include <cmath>
#include <vector>

#include <autodiff/autodiff.hpp>

#include "lesson.hpp"

namespace {

// Gradient descent on w for `steps` steps, replaying forward and backward; w after each step.
std::vector<double> descend(ad::Tape<float>& tape, ad::Var<float> J, ad::Parameter<float>& w, int steps) {
  const float learning_rate = 0.01f;
  std::vector<double> path;
  for (int i = 0; i < steps; ++i) {
    tape.forward();
    tape.backward(J);
    w.value(0, 0) -= learning_rate * w.grad(0, 0);
    path.push_back(w.value(0, 0));
  }
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 10: placeholders and feed_dict (minimize w² − 10w + 25)");
  fmt::print("Lesson 10: placeholders and feed_dict, J(w) = x[0]·w² + x[1]·w + x[2] from w = 0, α = 0.01\n");

  ad::Parameter<float> w("w", ad::Tensor<float>{{0.f}});  // tf.Variable(0, dtype=tf.float32)
  ad::Tape<float> tape;
  auto x = tape.input("x", ad::Tensor<float>{{1.f}, {-10.f}, {25.f}});  // tf.placeholder(tf.float32, [3, 1])
  auto W = tape.parameter(w);
  auto J = ad::slice_rows(x, 0, 1) * ad::square(W) + ad::slice_rows(x, 1, 2) * W + ad::slice_rows(x, 2, 3);

  lesson::Claims claims("lesson10");
  claims.add("w_initial", "w before training", "0.0", w.value(0, 0));
  auto first = descend(tape, J, w, 1);  // session.run(train, feed_dict={x: coefficients})
  claims.add("w_after_1", "w after 1 step", "0.099999994", first.back());
  auto rest = descend(tape, J, w, 1000);
  claims.add("w_after_1001", "w after 1000 more steps", "4.9999886", rest.back());
  tape.forward();
  claims.add("J_after_1001", "J(w) there", "~0", J.value()(0, 0));

  // Another feed, the same graph: (w − 10)², continuing from w ≈ 5.
  tape.feed(x, ad::Tensor<float>{{1.f}, {-20.f}, {100.f}});
  auto refed = descend(tape, J, w, 1000);
  claims.add("w_after_refeed", "feed (1, −20, 100): w after 1000 steps", "10", refed.back());
  claims.add("graph_nodes", "nodes on the tape (recorded once)", "-", double(tape.size()));

  // The path: w per step for both feeds; the exact float-free path 5(1 − 0.98^k) beside it.
  std::vector<double> step, path, exact;
  std::vector<double> all = first;
  all.insert(all.end(), rest.begin(), rest.end());
  all.insert(all.end(), refed.begin(), refed.end());
  for (std::size_t k = 0; k < all.size(); ++k) {
    step.push_back(double(k + 1));
    path.push_back(all[k]);
    const double n = double(k + 1);
    exact.push_back(k < 1001 ? 5 * (1 - std::pow(0.98, n)) : 10 - (10 - 5 * (1 - std::pow(0.98, 1001.0))) * std::pow(0.98, n - 1001));
  }
  lesson::report(plot::line(args.out / "lesson10_w_per_step",
                            {.x_name = "step", .x = step, .series = {{"w (float32, the engine)", path}, {"w exact", exact}},
                             .points = false},
                            {"Gradient descent on x[0]·w² + x[1]·w + x[2]: feed (1, −10, 25), then (1, −20, 100)",
                             "step", "w"}));
  claims.finish(args.out);
}
