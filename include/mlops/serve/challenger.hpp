// mlops/serve/challenger.hpp - champion/challenger: a deterministic traffic split by
// request key, the table that pairs a later label with the predictions a request got,
// and a sequential test that recommends promoting the challenger or keeping the champion.
//
//   if (mlops::route_to_challenger(user_id, 0.1)) ...        // the same user, the same version
//   mlops::PairedSequentialTest t;                            // alpha 0.05, beta 0.2, p1 0.6
//   t.add(champion_squared_error, challenger_squared_error);  // per labelled request
//   if (t.recommendation() == mlops::ab_recommendation::promote) ...
//
// The test is Wald's sequential probability ratio test on the sign of the paired loss
// difference: each labelled row both versions predicted is a win for the challenger
// (smaller loss), a loss, or a tie (skipped). H0: P(win) = 1/2 (the challenger is no
// better), H1: P(win) = p1. Promote when the log-likelihood ratio reaches log((1-beta)/alpha),
// keep when it falls to log(beta/(1-alpha)); the first crossing decides and the decision
// stays. Distribution-free (only signs), so the error rates hold for any loss
// distribution: a challenger no better than the champion is recommended with probability
// at most alpha/(1-beta) (Wald's bound; 0.0625 with the defaults; a challenger that wins
// less often than half the time, less still). Expected labels to a decision: about
// log((1-beta)/alpha) / (p log(2 p1) + (1-p) log(2 (1-p1))) for a true win rate p (27 at
// p = 0.8, 138 at p = 0.6 with the defaults).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "mlops/config.hpp"
#include "mlops/error.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {
/// 64-bit hash of a key: FNV-1a, then the splitmix64 finalizer (spreads short keys).
constexpr std::uint64_t key_hash(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}
}  // namespace detail

/// A key's place in [0, 1): the same on every run, platform and thread.
constexpr double key_unit(std::string_view key) noexcept {
  return static_cast<double>(detail::key_hash(key) >> 11) * 0x1.0p-53;
}
/// True when the request with this key is answered by the challenger under a traffic
/// `share` in [0, 1]: deterministic, so one key (user, session) always sees one version,
/// and about `share` of distinct keys see the challenger.
constexpr bool route_to_challenger(std::string_view key, double share) noexcept { return key_unit(key) < share; }

enum class ab_recommendation : std::int8_t { keep = -1, undecided = 0, promote = 1 };
constexpr std::string_view recommendation_name(ab_recommendation r) noexcept {
  return r == ab_recommendation::promote ? "promote" : r == ab_recommendation::keep ? "keep" : "undecided";
}

struct SequentialTestConfig {
  double alpha = 0.05;  // the rate of recommending a challenger that is no better (before Wald's 1/(1-beta) factor)
  double beta = 0.2;    // the rate of keeping a challenger whose win rate is p1
  double p1 = 0.6;      // the win rate the test is sized to detect
  double tie = 0;       // relative tolerance: |a - b| <= tie * (a + b) / 2 is a tie (skipped)
};

/// Wald's SPRT on paired win/loss signs (see the file comment). noexcept, no allocation.
class PairedSequentialTest {
 public:
  explicit PairedSequentialTest(SequentialTestConfig c = {}) : c_(c) {
    if (!(c.alpha > 0 && c.alpha < 0.5) || !(c.beta > 0 && c.beta < 0.5) || !(c.p1 > 0.5 && c.p1 < 1) || !(c.tie >= 0))
      MLOPS_THROW(argument_error(errc::invalid_argument,
                                 "PairedSequentialTest: need 0 < alpha, beta < 0.5, 0.5 < p1 < 1 and tie >= 0"));
    win_ = std::log(2 * c.p1);
    loss_ = std::log(2 * (1 - c.p1));
    upper_ = std::log((1 - c.beta) / c.alpha);
    lower_ = std::log(c.beta / (1 - c.alpha));
  }
  /// One labelled row: each version's loss (squared error, 0/1 error, ...). A non-finite
  /// loss counts as the larger. Returns the recommendation after this pair.
  ab_recommendation add(double champion_loss, double challenger_loss) noexcept {
    ++pairs_;
    const bool a_ok = std::isfinite(champion_loss), b_ok = std::isfinite(challenger_loss);
    int sign = 0;  // +1: challenger better
    if (a_ok && b_ok) {
      const double tol = c_.tie * 0.5 * (std::fabs(champion_loss) + std::fabs(challenger_loss));
      if (challenger_loss < champion_loss - tol) sign = 1;
      else if (champion_loss < challenger_loss - tol) sign = -1;
    } else if (a_ok != b_ok) {
      sign = a_ok ? -1 : 1;
    }
    if (sign == 0) {
      ++ties_;
    } else {
      sign > 0 ? ++wins_ : ++losses_;
      if (decision_ == ab_recommendation::undecided) {
        llr_ += sign > 0 ? win_ : loss_;
        if (llr_ >= upper_) decision_ = ab_recommendation::promote;
        else if (llr_ <= lower_) decision_ = ab_recommendation::keep;
      }
    }
    return decision_;
  }
  ab_recommendation recommendation() const noexcept { return decision_; }
  std::uint64_t pairs() const noexcept { return pairs_; }
  std::uint64_t wins() const noexcept { return wins_; }
  std::uint64_t losses() const noexcept { return losses_; }
  std::uint64_t ties() const noexcept { return ties_; }
  double llr() const noexcept { return llr_; }
  /// The bounds: promote at or above upper(), keep at or below lower().
  double upper() const noexcept { return upper_; }
  double lower() const noexcept { return lower_; }
  const SequentialTestConfig& config() const noexcept { return c_; }
  void reset() noexcept {
    pairs_ = wins_ = losses_ = ties_ = 0;
    llr_ = 0;
    decision_ = ab_recommendation::undecided;
  }

 private:
  SequentialTestConfig c_;
  double win_ = 0, loss_ = 0, upper_ = 0, lower_ = 0, llr_ = 0;
  std::uint64_t pairs_ = 0, wins_ = 0, losses_ = 0, ties_ = 0;
  ab_recommendation decision_ = ab_recommendation::undecided;
};

/// What a request was answered with, kept until its label arrives.
struct FeedbackRecord {
  std::uint64_t champion_version = 0, challenger_version = 0;  // 0: that version did not predict
  double champion = 0, challenger = 0;                         // the predictions
  bool challenger_answered = false;                            // the answer returned came from the challenger
  bool classifier = false;                                     // losses are 0/1 errors, else squared errors
};

/// A fixed table from request id to FeedbackRecord: `capacity` slots (a power of two),
/// allocated once; put and take are noexcept and allocate nothing. A slot holds the most
/// recent request whose id hashes to it, so a label arriving after about `capacity`
/// later requests may find its record overwritten (take returns nothing: the label is
/// reported as unknown, never paired with another request's prediction). A record is
/// taken once: a second label for the same id is unknown.
class FeedbackStore {
 public:
  explicit FeedbackStore(std::size_t capacity = std::size_t{1} << 16) {
    std::size_t c = 1;
    while (c < capacity && c < (std::size_t{1} << 30)) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<slot[]>(c);
  }
  std::size_t capacity() const noexcept { return mask_ + 1; }
  void put(std::string_view request_id, const FeedbackRecord& r) noexcept {
    const std::uint64_t k = key(request_id);
    auto& s = slots_[k & mask_];
    std::lock_guard lock(stripes_[(k & mask_) % stripes_.size()]);
    s.key = k;
    s.record = r;
  }
  std::optional<FeedbackRecord> take(std::string_view request_id) noexcept {
    const std::uint64_t k = key(request_id);
    auto& s = slots_[k & mask_];
    std::lock_guard lock(stripes_[(k & mask_) % stripes_.size()]);
    if (s.key != k) return std::nullopt;
    s.key = 0;
    return s.record;
  }

 private:
  struct slot {
    std::uint64_t key = 0;  // 0: empty
    FeedbackRecord record;
  };
  static std::uint64_t key(std::string_view id) noexcept {
    const auto h = detail::key_hash(id);
    return h == 0 ? 1 : h;
  }
  std::size_t mask_ = 0;
  std::unique_ptr<slot[]> slots_;
  std::array<std::mutex, 64> stripes_;
};

MLOPS_NAMESPACE_END
