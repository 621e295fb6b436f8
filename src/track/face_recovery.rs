//! Re-detection of a face target: the face detector finds the target in the
//! first frame, and while the tracker has lost it, every
//! [`REDETECT_EVERY`]-th lost frame, the most prominent face it finds
//! becomes the tracker's position (the template stays the first one).

use super::{BBox, TrackError, TrackResult, TrackState, Tracker};
use crate::face::{Face, Mtcnn};
use crate::image::RgbImage;

/// Lost frames between face re-detections (the first lost frame re-detects).
pub const REDETECT_EVERY: u64 = 5;

/// The face detector and the count of frames the target has been lost.
pub struct FaceRecovery {
    mtcnn: Mtcnn,
    lost_for: u64,
    redetections: usize,
}

impl FaceRecovery {
    /// Re-detection with `mtcnn`.
    pub fn new(mtcnn: Mtcnn) -> FaceRecovery {
        FaceRecovery {
            mtcnn,
            lost_for: 0,
            redetections: 0,
        }
    }

    /// The most prominent face in `frame` (large and central), as a box.
    pub fn most_prominent(&mut self, frame: &RgbImage) -> Result<Option<BBox>, TrackError> {
        let faces = self.mtcnn.detect(frame)?;
        let best = Face::most_prominent(&faces, frame.width, frame.height);
        Ok(best.map(|f| BBox {
            x: f.bbox[0] as f64,
            y: f.bbox[1] as f64,
            w: (f.bbox[2] - f.bbox[0] + 1.0) as f64,
            h: (f.bbox[3] - f.bbox[1] + 1.0) as f64,
        }))
    }

    /// After `tracker` gave `result` on `frame`: starts a fresh count when the
    /// target is held, and while it is lost re-detects on the first lost
    /// frame and every [`REDETECT_EVERY`]-th after it, moving the tracker to
    /// the face found. Returns whether it moved the tracker.
    pub fn after_update(
        &mut self,
        tracker: &mut Tracker,
        frame: &RgbImage,
        result: &TrackResult,
    ) -> Result<bool, TrackError> {
        if result.state != TrackState::Lost {
            self.lost_for = 0;
            return Ok(false);
        }
        self.lost_for += 1;
        if self.lost_for % REDETECT_EVERY != 1 {
            return Ok(false);
        }
        let Some(face) = self.most_prominent(frame)? else {
            return Ok(false);
        };
        tracker.relocate(face);
        self.redetections += 1;
        Ok(true)
    }

    /// How many times a re-detection moved the tracker.
    pub fn redetections(&self) -> usize {
        self.redetections
    }

    /// Forgets the lost count and the re-detections (a new sequence).
    pub fn reset(&mut self) {
        self.lost_for = 0;
        self.redetections = 0;
    }
}
