// Whole epochs of Fashion-MNIST training (MLP 784-256-128-10, ReLU, softmax cross-entropy, Adam,
// batch 128, float) through nn::Trainer::fit, with the process's resident memory after the first
// and the last epoch: training replays one recorded graph, so memory must stay flat.
// Reference on this machine class: PyTorch 0.61 s per epoch, the BLAS floor 0.31 s.
// Usage: epoch [epochs=10]. Prints name=value lines.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <nn/nn.hpp>

namespace {

// A field of /proc/self/status in MiB ("VmRSS" now, "VmHWM" the peak so far).
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  double kib = 0;
  while (status >> key) {
    if (key == field + ":") {
      status >> kib;
      return kib / 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  const std::size_t epochs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10;

  auto train = nn::load_fashion_mnist<float>("train");
  auto test = nn::load_fashion_mnist<float>("test");
  nn::Normalizer<float> normalizer;
  normalizer.fit(train);
  normalizer.apply(train);
  normalizer.apply(test);

  nn::Sequential<float> model;
  model.dense(256, nn::Activation::relu).dense(128, nn::Activation::relu).dense(10);
  model.build(784, 0);
  nn::Adam<float> adam(1e-3);
  nn::TrainOptions options;
  options.epochs = epochs;
  options.batch_size = 128;
  options.progress = nn::Progress::none;
  nn::Trainer<float> trainer(model, nn::Loss::softmax_cross_entropy, adam, options);

  double rss_first = 0, peak_first = 0, fastest = 1e30, total = 0;
  trainer.on_epoch([&](nn::Trainer<float>&, const nn::EpochRecord& r) {
    if (r.epoch == 1) {
      rss_first = status_mib("VmRSS");
      peak_first = status_mib("VmHWM");
    }
    fastest = std::min(fastest, r.seconds);
    total += r.seconds;
    std::printf("epoch_%zu_s=%.3f\n", r.epoch, r.seconds);
    return true;
  });
  trainer.fit(train);
  const double rss_last = status_mib("VmRSS"), peak_last = status_mib("VmHWM");
  const auto evaluation = trainer.evaluate(test);

  std::printf("bench=epoch\nlayers=784-256-128-10\nbatch=128\nepochs=%zu\nblas_kernel=%s\n", epochs,
              ad::blas_kernel_name().c_str());
  std::printf("epoch_s_best=%.3f\nepoch_s_mean=%.3f\n", fastest, total / double(epochs));
  std::printf("rss_mib_after_epoch_1=%.1f\nrss_mib_after_last=%.1f\nrss_growth_percent=%.2f\n", rss_first, rss_last,
              100 * (rss_last - rss_first) / rss_first);
  std::printf("peak_rss_mib_after_epoch_1=%.1f\npeak_rss_mib_after_last=%.1f\npeak_rss_growth_percent=%.2f\n",
              peak_first, peak_last, 100 * (peak_last - peak_first) / peak_first);
  std::printf("test_accuracy=%.4f\n", evaluation.accuracy);
}
