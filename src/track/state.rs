//! The tracking state from the per-frame confidence, with hysteresis: a
//! target is lost only after several weak frames in a row, and regained only
//! after several strong ones that also look like the target did while it was
//! held (a sharp peak alone is not enough: the wider search while lost finds
//! sharp peaks on other objects).

/// Whether the tracker holds its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrackState {
    /// The box holds the target.
    Tracking,
    /// The evidence is weak: the box may have drifted.
    Uncertain,
    /// The target is gone; the tracker searches wider and holds the last box.
    Lost,
}

impl TrackState {
    /// The state's name as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TrackState::Tracking => "tracking",
            TrackState::Uncertain => "uncertain",
            TrackState::Lost => "lost",
        }
    }
}

/// The confidence limits and run lengths of the state machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateRules {
    /// A frame below this confidence is weak.
    pub weak_below: f64,
    /// This many weak frames in a row lose the target.
    pub weak_frames: u32,
    /// While lost, a frame at or above this confidence is strong.
    pub regain_above: f64,
    /// This many strong frames in a row regain it.
    pub strong_frames: u32,
    /// While lost, a frame is strong only if its feature similarity to the
    /// first template is at least this share of the running mean similarity
    /// of the frames held with confidence (each target has its own level).
    pub regain_similarity_share: f64,
    /// Weight of each new confident frame in that running mean.
    pub similarity_memory: f64,
}

impl Default for StateRules {
    fn default() -> StateRules {
        StateRules {
            weak_below: 0.3,
            weak_frames: 5,
            regain_above: 0.5,
            strong_frames: 2,
            regain_similarity_share: 0.7,
            similarity_memory: 0.1,
        }
    }
}

/// Counts weak and strong frames into a state.
#[derive(Debug, Clone)]
pub struct StateMachine {
    rules: StateRules,
    state: TrackState,
    weak: u32,
    strong: u32,
    held_similarity: Option<f64>,
}

impl StateMachine {
    /// A machine in the tracking state.
    pub fn new(rules: StateRules) -> StateMachine {
        StateMachine {
            rules,
            state: TrackState::Tracking,
            weak: 0,
            strong: 0,
            held_similarity: None,
        }
    }

    /// Back to tracking, counts cleared (a new target).
    pub fn reset(&mut self) {
        *self = StateMachine::new(self.rules);
    }

    /// The current state.
    pub fn state(&self) -> TrackState {
        self.state
    }

    /// The rules in force.
    pub fn rules(&self) -> &StateRules {
        &self.rules
    }

    /// Whether a frame with `confidence` and `similarity` to the first
    /// template would count toward regaining a lost target.
    pub fn would_regain(&self, confidence: f64, similarity: f64) -> bool {
        confidence >= self.rules.regain_above && self.looks_held(similarity)
    }

    /// Whether `similarity` is near the level the target had while held.
    fn looks_held(&self, similarity: f64) -> bool {
        self.held_similarity
            .is_none_or(|held| similarity >= self.rules.regain_similarity_share * held)
    }

    /// Takes one frame's confidence and its feature similarity to the first
    /// template, and returns the new state.
    pub fn step(&mut self, confidence: f64, similarity: f64) -> TrackState {
        let weak = confidence < self.rules.weak_below;
        let confident = confidence >= self.rules.regain_above;
        let strong = confident && (self.state != TrackState::Lost || self.looks_held(similarity));
        self.weak = if weak { self.weak + 1 } else { 0 };
        self.strong = if strong { self.strong + 1 } else { 0 };
        self.state = match self.state {
            TrackState::Lost if self.strong >= self.rules.strong_frames => TrackState::Tracking,
            TrackState::Lost => TrackState::Lost,
            _ if self.weak >= self.rules.weak_frames => TrackState::Lost,
            _ if weak => TrackState::Uncertain,
            _ => TrackState::Tracking,
        };
        if self.state == TrackState::Tracking && confident {
            let m = self.rules.similarity_memory;
            self.held_similarity = Some(
                self.held_similarity
                    .map_or(similarity, |held| (1.0 - m) * held + m * similarity),
            );
        }
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_after_weak_frames_in_a_row_and_regained_after_strong_ones() {
        let mut m = StateMachine::new(StateRules::default());
        assert_eq!(m.step(0.9, 0.5), TrackState::Tracking);
        for _ in 1..m.rules().weak_frames {
            assert_eq!(m.step(0.1, 0.1), TrackState::Uncertain);
        }
        assert_eq!(m.step(0.1, 0.1), TrackState::Lost);
        assert_eq!(m.step(0.9, 0.5), TrackState::Lost);
        assert_eq!(m.step(0.4, 0.5), TrackState::Lost);
        assert_eq!(m.step(0.9, 0.5), TrackState::Lost);
        assert_eq!(m.step(0.9, 0.5), TrackState::Tracking);
        assert_eq!(m.step(0.1, 0.1), TrackState::Uncertain);
        assert_eq!(m.step(0.9, 0.5), TrackState::Tracking);
    }

    #[test]
    fn a_sharp_peak_on_something_unlike_the_target_does_not_regain_it() {
        let mut m = StateMachine::new(StateRules::default());
        for _ in 0..10 {
            assert_eq!(m.step(0.9, 0.5), TrackState::Tracking);
        }
        for _ in 0..m.rules().weak_frames {
            m.step(0.1, 0.1);
        }
        assert_eq!(m.state(), TrackState::Lost);
        // 0.3 is below 0.7 of the 0.5 the target had while held (0.35).
        for _ in 0..5 {
            assert_eq!(m.step(0.95, 0.3), TrackState::Lost);
        }
        assert_eq!(m.step(0.9, 0.4), TrackState::Lost);
        assert_eq!(m.step(0.9, 0.4), TrackState::Tracking);
    }
}
