// The search schedulers on their own, with made-up scores: coarse to fine narrows every dimension
// on its own scale and never leaves the original bounds; ASHA promotes exactly the top 1/η of a
// rung; trial points depend on (seed, trial id) only.
#define BOOST_TEST_MODULE nn search schedulers
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>

#include <nn/nn.hpp>

namespace tt = boost::test_tools;

namespace {

nn::TrialRecord finished(const nn::TrialJob& job, double score) {
  nn::TrialRecord r;
  r.job = job;
  r.report.score = score;
  return r;
}

const std::vector<nn::SearchDimension> space = {
    {"alpha", 1e-4, 1, nn::Scale::log},
    {"beta", 0.9, 0.999, nn::Scale::one_minus_log},
    {"keep_prob", 0.5, 1, nn::Scale::linear},
    {"units", 16, 256, nn::Scale::log, true},
};

// Distance of a point from the optimum (1e-2, 0.99, 0.8, 64), each on its own scale.
double bowl(const nn::Hyperparameters& h) {
  return std::pow(std::log10(h.at("alpha")) + 2, 2) + std::pow(std::log10(1 - h.at("beta")) + 2, 2) +
         std::pow((h.at("keep_prob") - 0.8) / 0.5, 2) + std::pow(std::log2(h.at("units") / 64) / 4, 2);
}

}  // namespace

BOOST_AUTO_TEST_CASE(narrow_covers_the_best_values_plus_a_margin_on_each_scale) {
  // log: best at 1e-3 and 1e-2 in [1e-4, 1] (4 decades): margin 0.25 → one decade on each side.
  auto alpha = nn::narrow(space[0], space[0], std::vector{1e-3, 1e-2}, 0.25);
  BOOST_TEST(alpha.lo == 1e-4, tt::tolerance(1e-12));
  BOOST_TEST(alpha.hi == 1e-1, tt::tolerance(1e-12));
  BOOST_TEST((alpha.scale == nn::Scale::log));
  // 1 − log: β at 0.99 and 0.999 in [0.9, 0.999] (1 − β over 2 decades): margin 0.25 → half a
  // decade of 1 − β on each side, clipped to the original bounds: [1 − 10^-1.5, 0.999].
  auto beta = nn::narrow(space[1], space[1], std::vector{0.99, 0.999}, 0.25);
  BOOST_TEST(beta.lo == 1 - std::pow(10, -1.5), tt::tolerance(1e-12));
  BOOST_TEST(beta.hi == 0.999);
  // linear: 0.7 and 0.8 in [0.5, 1]: ± 0.125.
  auto keep = nn::narrow(space[2], space[2], std::vector{0.7, 0.8}, 0.25);
  BOOST_TEST(keep.lo == 0.575, tt::tolerance(1e-12));
  BOOST_TEST(keep.hi == 0.925, tt::tolerance(1e-12));
  // integer on a log scale: 32 and 64 in [16, 256] (4 octaves): ± one octave, integers outward.
  auto units = nn::narrow(space[3], space[3], std::vector{32.0, 64.0}, 0.25);
  BOOST_TEST(units.lo == 16);
  BOOST_TEST(units.hi == 128);
  BOOST_TEST(units.integer);
  // One integer value with no margin keeps that integer.
  auto one = nn::narrow(space[3], space[3], std::vector{100.0}, 0);
  BOOST_TEST(one.lo == 100);
  BOOST_TEST(one.hi == 100);
}

BOOST_AUTO_TEST_CASE(narrow_never_leaves_the_original_bounds) {
  // A current range already narrowed, best values at the edges, a huge margin: clipped.
  nn::SearchDimension current{"alpha", 1e-3, 1e-2, nn::Scale::log};
  auto a = nn::narrow(current, space[0], std::vector{1e-3, 1e-2}, 10);
  BOOST_TEST(a.lo == 1e-4);
  BOOST_TEST(a.hi == 1);
  auto b = nn::narrow(space[1], space[1], std::vector{0.9, 0.999}, 10);
  BOOST_TEST(b.lo == 0.9);
  BOOST_TEST(b.hi == 0.999);
  auto u = nn::narrow(space[3], space[3], std::vector{16.0, 256.0}, 10);
  BOOST_TEST(u.lo == 16);
  BOOST_TEST(u.hi == 256);
}

BOOST_AUTO_TEST_CASE(coarse_to_fine_zooms_in_on_the_optimum_round_after_round) {
  nn::CoarseToFineScheduler s(space, 5, {.rounds = 4, .trials_per_round = 30, .keep_best = 5, .margin = 0.1});
  std::size_t jobs = 0;
  while (auto job = s.next()) {
    // Each trial lies inside its round's space.
    const auto& round_space = s.spaces().at(s.round_of(job->trial));
    for (const auto& d : round_space) {
      BOOST_REQUIRE(job->values.at(d.name) >= d.lo);
      BOOST_REQUIRE(job->values.at(d.name) <= d.hi);
    }
    s.report(finished(*job, bowl(job->values)));
    ++jobs;
  }
  BOOST_TEST(jobs == 120u);
  BOOST_TEST(s.done());
  BOOST_REQUIRE(s.spaces().size() == 4u);
  for (std::size_t d = 0; d < space.size(); ++d) {
    auto width = [&](const nn::SearchDimension& x) { return std::abs(nn::to_scale(x, x.hi) - nn::to_scale(x, x.lo)); };
    // Every round narrower (or as wide) on the dimension's scale, the last one much narrower, and
    // always inside the original bounds.
    for (std::size_t r = 1; r < 4; ++r) {
      const auto& now = s.spaces()[r][d];
      BOOST_TEST(width(now) <= width(s.spaces()[r - 1][d]) * (1 + 1e-12), space[d].name << " round " << r);
      BOOST_TEST(now.lo >= space[d].lo);
      BOOST_TEST(now.hi <= space[d].hi);
    }
    BOOST_TEST(width(s.spaces()[3][d]) < 0.6 * width(space[d]), space[d].name);
  }
  // And the optimum is still inside.
  const auto& last = s.spaces()[3];
  BOOST_TEST(last[0].lo <= 1e-2);
  BOOST_TEST(last[0].hi >= 1e-2);
  BOOST_TEST(last[3].lo <= 64);
  BOOST_TEST(last[3].hi >= 64);
  BOOST_TEST(last[3].lo == std::round(last[3].lo));
}

BOOST_AUTO_TEST_CASE(coarse_to_fine_waits_for_a_round_before_narrowing) {
  nn::CoarseToFineScheduler s(space, 1, {.rounds = 2, .trials_per_round = 3, .keep_best = 1});
  std::vector<nn::TrialJob> first;
  for (int i = 0; i < 3; ++i) first.push_back(*s.next());
  BOOST_TEST(!s.next().has_value());  // round 2 needs round 1's scores
  BOOST_TEST(!s.done());
  for (auto& j : first) s.report(finished(j, bowl(j.values)));
  auto j = s.next();
  BOOST_REQUIRE(j.has_value());
  BOOST_TEST(j->trial == 3u);
}

BOOST_AUTO_TEST_CASE(trial_points_depend_on_the_seed_and_the_id_only) {
  nn::RandomScheduler a(space, 9, 5, 2), b(space, 9, 5, 2), c(space, 10, 5, 2);
  std::vector<nn::TrialJob> ja, jb;
  while (auto j = a.next()) ja.push_back(*j);
  // b is told trials 0, 2 and 4 finished (a resume): it issues 1 and 3, with a's points.
  for (std::size_t t : {0, 2, 4}) b.report(finished(ja[t], 0));
  while (auto j = b.next()) jb.push_back(*j);
  BOOST_REQUIRE(jb.size() == 2u);
  BOOST_TEST(jb[0].trial == 1u);
  BOOST_TEST(jb[1].trial == 3u);
  BOOST_TEST((jb[0].values == ja[1].values));
  BOOST_TEST(jb[1].seed == ja[3].seed);
  BOOST_TEST(!(c.next()->values == ja[0].values));
  BOOST_TEST(a.done());
}

BOOST_AUTO_TEST_CASE(asha_budgets_are_r_eta_to_the_k_up_to_the_maximum) {
  nn::AshaScheduler s(space, 1, {.trials = 9, .min_budget = 1, .max_budget = 9, .eta = 3});
  BOOST_TEST(s.rungs() == 3u);
  BOOST_TEST(s.budget(0) == 1u);
  BOOST_TEST(s.budget(1) == 3u);
  BOOST_TEST(s.budget(2) == 9u);
  nn::AshaScheduler t(space, 1, {.trials = 9, .min_budget = 2, .max_budget = 10, .eta = 2});
  BOOST_TEST(t.rungs() == 4u);  // 2, 4, 8, 10
  BOOST_TEST(t.budget(3) == 10u);
  BOOST_CHECK_THROW(nn::AshaScheduler(space, 1, {.eta = 1}), nn::ConfigError);
  BOOST_CHECK_THROW(nn::AshaScheduler(space, 1, {.min_budget = 4, .max_budget = 2}), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(asha_run_serially_promotes_exactly_the_top_third_of_each_rung) {
  // Trial t scores t: trial 0 is best. With 9 trials and η = 3, rung 1 gets the best 3 of rung 0
  // and rung 2 the best of those, and each trial's jobs come in rung order.
  nn::AshaScheduler s(space, 1, {.trials = 9, .min_budget = 1, .max_budget = 9, .eta = 3});
  std::vector<std::pair<std::size_t, std::size_t>> order;  // (trial, rung)
  while (auto job = s.next()) {
    BOOST_TEST(job->budget == s.budget(job->rung));
    BOOST_TEST(job->last_rung == (job->rung == 2));
    order.emplace_back(job->trial, job->rung);
    s.report(finished(*job, double(job->trial)));
  }
  BOOST_TEST(s.done());
  auto ids = [](const std::vector<nn::AshaScheduler::Result>& rs) {
    std::vector<std::size_t> v;
    for (const auto& r : rs) v.push_back(r.trial);
    std::sort(v.begin(), v.end());
    return v;
  };
  BOOST_TEST(s.results(0).size() == 9u);
  BOOST_TEST(ids(s.results(1)) == (std::vector<std::size_t>{0, 1, 2}), tt::per_element());
  BOOST_TEST(ids(s.results(2)) == (std::vector<std::size_t>{0}), tt::per_element());
  // Asynchronous: trial 0 goes on to rung 1 as soon as 3 results are in, before trial 3 starts.
  const std::vector<std::pair<std::size_t, std::size_t>> expected_start = {{0, 0}, {1, 0}, {2, 0}, {0, 1}, {3, 0}};
  BOOST_TEST(std::equal(expected_start.begin(), expected_start.end(), order.begin()));
}

BOOST_AUTO_TEST_CASE(asha_promotes_only_from_the_top_fraction_at_the_time_asked) {
  // Several jobs in flight at once (as with 4 workers), scores from the bowl: every promotion from
  // rung k is one of the top ⌊n_k/η⌋ of rung k's results at that moment, and each trial goes on
  // at most once.
  nn::AshaScheduler s(space, 3, {.trials = 60, .min_budget = 1, .max_budget = 16, .eta = 2});
  std::vector<nn::TrialJob> running;
  std::size_t promotions = 0;
  auto report_oldest = [&] {
    const auto j = running.front();
    running.erase(running.begin());
    s.report(finished(j, bowl(j.values) / double(j.rung + 1)));
  };
  while (true) {
    while (running.size() < 4) {
      auto job = s.next();
      if (!job) break;
      if (job->rung > 0) {
        ++promotions;
        auto rung = s.results(job->rung - 1);
        std::sort(rung.begin(), rung.end(), [](auto& a, auto& b) { return a.score < b.score; });
        const std::size_t top = rung.size() / 2;
        bool in_top = false;
        for (std::size_t i = 0; i < top; ++i) in_top |= rung[i].trial == job->trial;
        BOOST_TEST(in_top, "trial " << job->trial << " promoted to rung " << job->rung << " from outside the top");
      }
      running.push_back(*job);
    }
    if (running.empty()) break;
    report_oldest();
  }
  BOOST_TEST(promotions > 20u);
  for (std::size_t k = 0; k + 1 < s.rungs(); ++k) {
    auto p = s.promoted(k);
    std::sort(p.begin(), p.end());
    BOOST_TEST((std::adjacent_find(p.begin(), p.end()) == p.end()), "a trial promoted twice from rung " << k);
    // (Asynchronous: more than half of the final rung may have gone on, each from the top of its
    // moment; the paper's "mispromotions".)
  }
  BOOST_TEST(s.results(0).size() == 60u);
}

BOOST_AUTO_TEST_CASE(asha_never_promotes_a_trial_without_a_finite_score) {
  nn::AshaScheduler s(space, 1, {.trials = 4, .min_budget = 1, .max_budget = 2, .eta = 2});
  while (auto job = s.next()) s.report(finished(*job, job->rung == 0 ? INFINITY : 1.0));  // all diverged
  BOOST_TEST(s.results(1).empty());
  BOOST_TEST(s.done());
}

BOOST_AUTO_TEST_CASE(asha_restored_results_are_not_issued_again) {
  nn::AshaScheduler a(space, 1, {.trials = 9, .min_budget = 1, .max_budget = 9, .eta = 3});
  std::vector<nn::TrialRecord> log;
  for (int i = 0; i < 5; ++i) {  // the first 5 jobs finish, then an interrupt
    auto j = a.next();
    log.push_back(finished(*j, double(j->trial)));
    a.report(log.back());
  }
  nn::AshaScheduler b(space, 1, {.trials = 9, .min_budget = 1, .max_budget = 9, .eta = 3});
  for (const auto& r : log) b.report(r);
  std::vector<std::pair<std::size_t, std::size_t>> seen;
  for (const auto& r : log) seen.emplace_back(r.job.trial, r.job.rung);
  while (auto j = b.next()) {
    BOOST_TEST((std::find(seen.begin(), seen.end(), std::pair{j->trial, j->rung}) == seen.end()),
               "trial " << j->trial << " rung " << j->rung << " issued again");
    seen.emplace_back(j->trial, j->rung);
    b.report(finished(*j, double(j->trial)));
  }
  BOOST_TEST(b.results(0).size() == 9u);
  BOOST_TEST(b.results(2).size() == 1u);
}
