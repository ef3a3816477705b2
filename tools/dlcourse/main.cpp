// dlcourse: the framework from the shell. Train a model described in JSON, evaluate a checkpoint,
// check its gradients, search its hyperparameters:
//   dlcourse train --spec model.json --fashion-mnist --dev 5000 --save model.npz
//   dlcourse evaluate --checkpoint model.npz --fashion-mnist
//   dlcourse gradcheck --spec model.json --csv data.csv --label-column 0 --classes 3
//   dlcourse search --spec model.json --space space.json --fashion-mnist --limit 10000 --dev 2000
//                   ... --method asha --trials 27 --workers 2 --results search.jsonl
//   mpirun -np 2 dlcourse train --spec model.json --fashion-mnist      # data-parallel (MPI builds)
// Errors (a spec's field, a data file's line) print one line on stderr and exit with status 1 (in
// an MPI job of several processes, the line names the process and the whole job ends).
#include <iostream>

#include <CLI/CLI.hpp>

#include <autodiff/blas_setup.hpp>
#include <autodiff/errors.hpp>

#include "commands.hpp"
#include "mpi_job.hpp"

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  CLI::App app{"dlcourse: train, evaluate, gradient-check and tune models described in JSON"};
  app.require_subcommand(1);
  dlcourse::add_train(app);
  dlcourse::add_evaluate(app);
  dlcourse::add_gradcheck(app);
  dlcourse::add_search(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {  // --help, a bad option, or a command's own exit status
    return app.exit(e);
  } catch (const ad::Error& e) {
    const nn::ProcessGroup* job = dlcourse::joined_mpi_job();
    if (job) std::cerr << "dlcourse (process " << job->rank() << " of " << job->size() << "): " << e.what() << std::endl;
    else std::cerr << "dlcourse: " << e.what() << std::endl;
    dlcourse::end_mpi_job_after_error(1);
    return 1;
  }
  return 0;
}
