//! The Siamese tracker: the template's features once, then per frame a search
//! crop around the last box through the same backbone, the head, and the
//! box update of NanoTrack's reference tracker; plus a confidence and a
//! state, and a wider search while the target is lost.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::crop::{mean_colour, Cropper};
use super::decode::{Decoder, Peak};
use super::signals::{peak_to_sidelobe, window_similarity, Signals};
use super::state::{StateMachine, StateRules, TrackState};
use super::TrackError;
use crate::image::RgbImage;
use crate::model::{load_verified, Dim, Execution, Network, Role, TrackerSpec};

/// An axis-aligned box: top-left corner and size, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// What the tracker says about one frame.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrackResult {
    /// The target's box (the last held box while lost).
    pub bbox: BBox,
    /// How sure the tracker is that the box holds the target, 0..1.
    pub confidence: f64,
    /// Tracking, uncertain or lost.
    pub state: TrackState,
    /// The evidence the confidence is made of.
    pub signals: Signals,
}

/// Where the last `update` spent its time, in milliseconds (all search
/// windows of the frame together).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct TrackTimes {
    /// Cropping and resizing the search window(s).
    pub crop: f64,
    /// The backbone on the search crop(s).
    pub backbone: f64,
    /// The head.
    pub head: f64,
    /// Decoding, penalties, signals and the box update.
    pub post: f64,
}

impl TrackResult {
    /// The result of the first frame: the box the tracker starts from, held for certain.
    pub fn initial(bbox: BBox) -> TrackResult {
        TrackResult {
            bbox,
            confidence: 1.0,
            state: TrackState::Tracking,
            signals: Signals::default(),
        }
    }
}

impl TrackTimes {
    /// Adds another update's times to these.
    pub fn add(&mut self, other: &TrackTimes) {
        self.crop += other.crop;
        self.backbone += other.backbone;
        self.head += other.head;
        self.post += other.post;
    }

    /// Each time divided by `n` (a mean over `n` updates).
    pub fn per(&self, n: f64) -> TrackTimes {
        TrackTimes {
            crop: self.crop / n,
            backbone: self.backbone / n,
            head: self.head / n,
            post: self.post / n,
        }
    }
}

/// The model files of a tracker.
#[derive(Debug, Clone)]
pub struct TrackerModels {
    /// The backbone (`track-backbone`), applied to template and search crops.
    pub backbone: PathBuf,
    /// The head (`track-head`), whose manifest holds the tracker's constants.
    pub head: PathBuf,
}

impl TrackerModels {
    /// NanoTrack v3 in `dir`, with the backbone file `backbone` (a variant's file name).
    pub fn nanotrack(dir: &Path, backbone: &str) -> TrackerModels {
        TrackerModels {
            backbone: dir.join(backbone),
            head: dir.join("nanotrack_v3_head.onnx"),
        }
    }
}

/// How many extra search crops are scanned per frame while the target is lost.
const TILES_PER_FRAME: usize = 4;

/// A loaded tracker; `init` starts a sequence, `update` follows it.
#[derive(Debug)]
pub struct Tracker {
    spec: TrackerSpec,
    template_net: Network,
    search_net: Network,
    head: Network,
    template_crop: Cropper,
    search_crop: Cropper,
    decoder: Decoder,
    template: Vec<f32>,
    fill: [u8; 3],
    centre: (f64, f64),
    size: (f64, f64),
    states: StateMachine,
    recovery: bool,
    next_tile: usize,
    times: TrackTimes,
}

/// One search crop's outcome, before it is taken.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    peak: Peak,
    signals: Signals,
    centre: (f64, f64),
    scale: f64,
}

impl Tracker {
    /// Loads the backbone twice (a concrete plan for the template crop and
    /// one for the search crop) and the head, each checked against its manifest.
    pub fn load(models: &TrackerModels, execution: Execution) -> Result<Tracker, TrackError> {
        let (backbone_bytes, backbone) = load_verified(&models.backbone)?;
        if backbone.role != Role::TrackBackbone {
            return Err(TrackError::Role {
                path: models.backbone.clone(),
                expected: "track-backbone",
            });
        }
        let (head_bytes, head) = load_verified(&models.head)?;
        let Some(spec) = head
            .tracker
            .clone()
            .filter(|_| head.role == Role::TrackHead)
        else {
            return Err(TrackError::Role {
                path: models.head.clone(),
                expected: "track-head",
            });
        };
        let image =
            |side: usize| vec![vec![1, 3, side, side].into_iter().map(Dim::Fixed).collect()];
        let template_net = Network::from_bytes_with(
            &models.backbone,
            &backbone_bytes,
            &image(spec.exemplar_size),
            execution,
        )?;
        let search_net = Network::from_bytes_with(
            &models.backbone,
            &backbone_bytes,
            &image(spec.instance_size),
            execution,
        )?;
        let head_net = Network::from_bytes_with(
            &models.head,
            &head_bytes,
            &spec.head_inputs(),
            Execution::Auto,
        )?;
        let mut tracker = Tracker {
            template_crop: Cropper::new(spec.exemplar_size),
            search_crop: Cropper::new(spec.instance_size),
            decoder: Decoder::new(&spec),
            template: Vec::new(),
            fill: [0; 3],
            centre: (0.0, 0.0),
            size: (1.0, 1.0),
            states: StateMachine::new(StateRules::default()),
            recovery: true,
            next_tile: 0,
            times: TrackTimes::default(),
            spec,
            template_net,
            search_net,
            head: head_net,
        };
        tracker.check_shapes()?;
        Ok(tracker)
    }

    /// Runs every network once on a blank crop, so that the first frame is
    /// not slower than the rest, and checks the feature shapes against the manifest.
    fn check_shapes(&mut self) -> Result<(), TrackError> {
        let blank = RgbImage::new(self.spec.exemplar_size, self.spec.exemplar_size);
        self.init(
            &blank,
            BBox {
                x: 0.0,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
        )?;
        self.update(&blank)?;
        Ok(())
    }

    /// Turns the lost-target recovery (wider search, frozen box while lost)
    /// on or off; off, every box is the reference tracker's.
    pub fn set_recovery(&mut self, on: bool) {
        self.recovery = on;
    }

    /// The engine that runs the backbone (and why the integer engine declined it, if it did).
    pub fn engine_report(&self) -> String {
        self.search_net.engine_report()
    }

    /// Where the last `update` spent its time.
    pub fn last_times(&self) -> TrackTimes {
        self.times
    }

    /// Whether the lost-target recovery is on.
    pub fn recovery(&self) -> bool {
        self.recovery
    }

    /// Starts tracking the target inside `bbox` in `frame`.
    pub fn init(&mut self, frame: &RgbImage, bbox: BBox) -> Result<(), TrackError> {
        if !(bbox.w >= 1.0 && bbox.h >= 1.0 && bbox.x.is_finite() && bbox.y.is_finite()) {
            return Err(TrackError::EmptyBox {
                w: bbox.w,
                h: bbox.h,
            });
        }
        self.centre = (bbox.x + (bbox.w - 1.0) / 2.0, bbox.y + (bbox.h - 1.0) / 2.0);
        self.size = (bbox.w, bbox.h);
        self.fill = mean_colour(frame);
        let side = self.context_side().round_ties_even() as usize;
        let crop = self
            .template_crop
            .crop(frame, self.centre.0, self.centre.1, side, self.fill);
        let e = self.spec.exemplar_size;
        let out = self.template_net.run(&[(&[1, 3, e, e], crop)])?;
        check_shape(out.shape(0), &self.spec.template_features, "template")?;
        self.template.clear();
        self.template.extend_from_slice(out.values(0));
        self.states.reset();
        self.next_tile = 0;
        Ok(())
    }

    /// Moves the tracker's box to `bbox` (centre `x + w / 2`, as `update`
    /// reports it) keeping the template: a re-detected target, or the
    /// reference's state in a step-by-step comparison.
    pub fn relocate(&mut self, bbox: BBox) {
        self.centre = (bbox.x + bbox.w / 2.0, bbox.y + bbox.h / 2.0);
        self.size = (bbox.w.max(1.0), bbox.h.max(1.0));
    }

    /// The template-crop side for the current size: the box with context.
    fn context_side(&self) -> f64 {
        let (w, h) = self.size;
        let p = self.spec.context_amount as f64 * (w + h);
        ((w + p) * (h + p)).sqrt()
    }

    /// Follows the target into `frame`.
    pub fn update(&mut self, frame: &RgbImage) -> Result<TrackResult, TrackError> {
        let s_z = self.context_side();
        let scale = self.spec.exemplar_size as f64 / s_z;
        let s_x = s_z * self.spec.instance_size as f64 / self.spec.exemplar_size as f64;
        let lost = self.recovery && self.states.state() == TrackState::Lost;
        self.times = TrackTimes::default();
        let mut best = self.search(frame, self.centre, s_x, scale, None)?;
        if lost {
            for _ in 0..TILES_PER_FRAME {
                let centre = self.tile_centre(frame, s_x);
                let c = self.search(frame, centre, s_x, scale, Some(0.0))?;
                if confidence(&c.signals) > confidence(&best.signals) {
                    best = c;
                }
            }
        }
        let started = Instant::now();
        let conf = confidence(&best.signals);
        let state = self.states.step(conf, best.signals.similarity);
        if !self.recovery
            || state != TrackState::Lost
            || self.states.would_regain(conf, best.signals.similarity)
        {
            self.take(frame, &best);
        }
        self.times.post += ms_since(started);
        let (w, h) = self.size;
        Ok(TrackResult {
            bbox: BBox {
                x: self.centre.0 - w / 2.0,
                y: self.centre.1 - h / 2.0,
                w,
                h,
            },
            confidence: conf,
            state,
            signals: best.signals,
        })
    }

    /// The centre of the next tile of a grid of search windows covering the frame.
    fn tile_centre(&mut self, frame: &RgbImage, s_x: f64) -> (f64, f64) {
        let step = (s_x * 0.75).max(1.0);
        let cols = ((frame.width as f64 / step).ceil() as usize).max(1);
        let rows = ((frame.height as f64 / step).ceil() as usize).max(1);
        let k = self.next_tile % (cols * rows);
        self.next_tile = (k + 1) % (cols * rows);
        let cx = (frame.width as f64 / cols as f64) * ((k % cols) as f64 + 0.5);
        let cy = (frame.height as f64 / rows as f64) * ((k / cols) as f64 + 0.5);
        (cx, cy)
    }

    /// One search crop of side `s_x` centred on `centre` through backbone and head.
    fn search(
        &mut self,
        frame: &RgbImage,
        centre: (f64, f64),
        s_x: f64,
        scale: f64,
        window_influence: Option<f64>,
    ) -> Result<Candidate, TrackError> {
        let started = Instant::now();
        let crop = self.search_crop.crop(
            frame,
            centre.0,
            centre.1,
            s_x.round_ties_even() as usize,
            self.fill,
        );
        let i = self.spec.instance_size;
        let cropped = Instant::now();
        self.times.crop += ms_between(started, cropped);
        let features = self.search_net.run(&[(&[1, 3, i, i], crop)])?;
        let encoded = Instant::now();
        self.times.backbone += ms_between(cropped, encoded);
        check_shape(features.shape(0), &self.spec.search_features, "search")?;
        let search = features.values(0);
        let out = self.head.run(&[
            (&self.spec.template_features, &self.template),
            (&self.spec.search_features, search),
        ])?;
        let headed = Instant::now();
        self.times.head += ms_between(encoded, headed);
        let n = self.decoder.cells();
        if out.len() < 2 || out.values(0).len() != 2 * n || out.values(1).len() != 4 * n {
            return Err(TrackError::HeadShape {
                cells: n,
                got: (0..out.len()).map(|k| out.shape(k).to_vec()).collect(),
            });
        }
        let (w, h) = self.size;
        let peak = self.decoder.decode(
            out.values(0),
            out.values(1),
            w * scale,
            h * scale,
            window_influence,
        );
        let side = self.spec.score_size;
        let psr = peak_to_sidelobe(self.decoder.scores(), side, peak.cell);
        let [_, c, t, _] = self.spec.template_features[..] else {
            unreachable!("validated 4 dimensions")
        };
        let s = self.spec.search_features[2];
        let stride = self.spec.stride as f64;
        let origin = (s - t) as f64 / 2.0;
        let at = |d: f64| (origin + d / stride).round().clamp(0.0, (s - t) as f64) as usize;
        let similarity = window_similarity(
            &self.template,
            self.search_net.last_outputs().values(0),
            c,
            t,
            s,
            at(peak.dy),
            at(peak.dx),
        );
        self.times.post += ms_since(headed);
        Ok(Candidate {
            signals: Signals {
                score: peak.score,
                psr,
                similarity,
            },
            peak,
            centre,
            scale,
        })
    }

    /// Moves the box to a candidate, as the reference tracker does.
    fn take(&mut self, frame: &RgbImage, c: &Candidate) {
        let (w, h) = self.size;
        let lr = c.peak.penalty * c.peak.score * self.spec.lr as f64;
        let cx = (c.centre.0 + c.peak.dx / c.scale).clamp(0.0, frame.width as f64);
        let cy = (c.centre.1 + c.peak.dy / c.scale).clamp(0.0, frame.height as f64);
        let nw = (w * (1.0 - lr) + c.peak.width / c.scale * lr).clamp(10.0, frame.width as f64);
        let nh = (h * (1.0 - lr) + c.peak.height / c.scale * lr).clamp(10.0, frame.height as f64);
        self.centre = (cx, cy);
        self.size = (nw, nh);
    }
}

/// The confidence of a frame, 0..1: mostly how far the peak stands out of
/// the score map (log peak-to-sidelobe ratio, 0 at 4 and 1 at 60; a held
/// target's map has one sharp peak, an absent one's many weak ones), partly
/// how much the features under the box still look like the first template
/// (0 at similarity 0, 1 at 0.35). The raw score is left out: it stays near
/// 0.9 on background.
pub fn confidence(s: &Signals) -> f64 {
    let (low, high) = (4f64.log10(), 60f64.log10());
    let sharp = ((s.psr.max(1e-6).log10() - low) / (high - low)).clamp(0.0, 1.0);
    let alike = (s.similarity / 0.35).clamp(0.0, 1.0);
    0.7 * sharp + 0.3 * alike
}

fn ms_between(a: Instant, b: Instant) -> f64 {
    (b - a).as_secs_f64() * 1e3
}

fn ms_since(a: Instant) -> f64 {
    ms_between(a, Instant::now())
}

fn check_shape(got: &[usize], want: &[usize], what: &'static str) -> Result<(), TrackError> {
    if got == want {
        Ok(())
    } else {
        Err(TrackError::FeatureShape {
            what,
            got: got.to_vec(),
            want: want.to_vec(),
        })
    }
}
