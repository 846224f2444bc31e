//! The benchmark between organisations (`docs/benchmark.md`): published, versioned
//! metric definitions (`metric`), a participant's counts for a period and how complete
//! its registration is (`participant`), and group figures with disclosure control and a
//! participant's position (`group`). Pure: the store loads the participants' figures and
//! a group's fixed membership, these functions decide what may be shown.

pub mod group;
pub mod membership;
pub mod metric;
pub mod participant;

pub use group::{
    COMPOSE_WINDOW_DAYS, DEFAULT_GRACE_DAYS, Disclosure, GroupFigure, GroupFigures, GroupPeriod,
    GroupValue, MAX_GRACE_DAYS, MIN_PARTICIPANTS_FLOOR, Own, OwnFigure, OwnView, PublicView,
    Quarter, Quartiles, composable_from, composable_periods, compose_deadline, group_figures,
    latest_composable, own_view, public_view, quantile, quartiles,
};
pub use membership::{Membership, Origin, members, named_now};
pub use metric::{
    Basis, Direction, ItemKind, MIN_ANSWERS_FLOOR, MIN_CONTACTS_FLOOR, Metric, MetricRef, Unit,
    metric, metrics, norms, settings_for,
};
pub use participant::{
    BenchmarkPeriod, Count, Flag, MAX_ANONYMOUS_PERCENT, MAX_WITHOUT_OUTCOME_PERCENT, Participant,
    Registration, counts, registration,
};
