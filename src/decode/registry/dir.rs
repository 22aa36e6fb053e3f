//! Schemas from a directory instead of a registry: `claim-check invoke --schemas DIR` decodes
//! framed values offline, through the same decoder and codecs as a registry's schemas.
//!
//! A schema file is named by the id values carry: `<Confluent id>.<ext>` (`7.avsc`) or
//! `<UUID>.<ext>` (`b2f2…-….proto`: a Glue schema version id, or a Confluent schema GUID from a
//! record header). The extension names the format: `.avsc` Avro, `.proto` Protobuf, `.json`
//! JSON Schema. Every other `.proto` file under the directory can be imported, by its path
//! relative to it (`shop/common.proto`); every other `.avsc` file is a named Avro type the
//! schemas may refer to.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{
    FetchError, FetchedSchema, Framing, RegistryDecoder, RegistryKind, RegistrySettings, SchemaId,
    SchemaSource,
};

/// The schema formats, by file extension.
const FORMATS: [(&str, &str); 3] = [("avsc", "AVRO"), ("proto", "PROTOBUF"), ("json", "JSON")];

/// At most this many files are read from a schema directory (and its subdirectories).
pub const MAX_FILES: usize = 10_000;

/// A schema directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// A file or directory could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Two files claim one id (`7.avsc` and `7.proto`).
    #[error("{first} and {second} both name {id}")]
    Duplicate {
        /// The id.
        id: String,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// More files than [`MAX_FILES`].
    #[error("{0} holds more than {MAX_FILES} files: is it the schema directory?")]
    TooMany(PathBuf),
    /// No schema file is named by an id.
    #[error(
        "{0} holds no schema file named by an id (7.avsc, 7.proto or 7.json for Confluent schema id 7; <uuid>.avsc for a Glue schema version id)"
    )]
    Empty(PathBuf),
}

/// A schema file named by an id.
#[derive(Clone, Debug)]
struct SchemaFile {
    name: String,
    schema_type: &'static str,
    text: String,
}

/// Schemas read from a directory, once, when it is opened.
#[derive(Debug)]
pub struct SchemaDir {
    root: PathBuf,
    by_number: HashMap<u32, SchemaFile>,
    by_uuid: HashMap<[u8; 16], SchemaFile>,
    /// Importable `.proto` files by their path under the directory, `/`-separated.
    protos: BTreeMap<String, String>,
    /// `.avsc` files not named by an id: named types schemas may refer to.
    avro_types: BTreeMap<String, String>,
}

impl SchemaDir {
    /// Reads the schema files under `root`.
    ///
    /// # Errors
    /// [`DirError`] when a file cannot be read, two files name one id, or no file is named by
    /// an id.
    pub fn open(root: &Path) -> Result<Self, DirError> {
        let mut dir = SchemaDir {
            root: root.to_path_buf(),
            by_number: HashMap::new(),
            by_uuid: HashMap::new(),
            protos: BTreeMap::new(),
            avro_types: BTreeMap::new(),
        };
        let mut files = Vec::new();
        walk(root, "", &mut files)?;
        if files.len() > MAX_FILES {
            return Err(DirError::TooMany(root.to_path_buf()));
        }
        files.sort();
        for (relative, path) in files {
            let Some((stem, schema_type, ext)) = schema_type(&relative) else {
                continue;
            };
            let read = |path: &Path| {
                std::fs::read_to_string(path).map_err(|source| DirError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            };
            let top_level = !relative.contains('/');
            let id = top_level.then(|| parse_id(stem)).flatten();
            if ext == "proto" {
                dir.protos.insert(relative.clone(), read(&path)?);
            }
            let Some(id) = id else {
                if ext == "avsc" {
                    dir.avro_types.insert(relative.clone(), read(&path)?);
                }
                continue;
            };
            let file = SchemaFile {
                name: relative.clone(),
                schema_type,
                text: read(&path)?,
            };
            let slot = match id {
                Id::Number(n) => dir.by_number.entry(n).or_insert_with(|| file.clone()),
                Id::Uuid(u) => dir.by_uuid.entry(u).or_insert_with(|| file.clone()),
            };
            if slot.name != file.name {
                return Err(DirError::Duplicate {
                    id: stem.to_string(),
                    first: slot.name.clone(),
                    second: file.name,
                });
            }
        }
        if dir.by_number.is_empty() && dir.by_uuid.is_empty() {
            return Err(DirError::Empty(root.to_path_buf()));
        }
        Ok(dir)
    }

    /// The framing values are in, when the settings name no registry: Confluent's when every
    /// schema is named by a number, Glue's when every one is named by a UUID, either (by the
    /// value's first byte) when the directory holds both.
    pub fn framing(&self) -> Framing {
        match (self.by_number.is_empty(), self.by_uuid.is_empty()) {
            (false, true) => Framing::Confluent,
            (true, false) => Framing::Glue,
            _ => Framing::Any,
        }
    }

    /// The decoder of values framed with these schemas: the framing `settings.kind` names, else
    /// [`SchemaDir::framing`]; the fields and codec options of `settings` (its URL and
    /// credentials are not used).
    pub fn decoder(self, settings: &RegistrySettings) -> RegistryDecoder {
        let framing = match settings.kind {
            RegistryKind::Confluent => Framing::Confluent,
            RegistryKind::Glue => Framing::Glue,
            RegistryKind::None => self.framing(),
        };
        RegistryDecoder::new(std::sync::Arc::new(self), framing, settings.fields)
            .with_options(settings.codec_options)
    }

    /// How many schema files are named by an id.
    pub fn len(&self) -> usize {
        self.by_number.len() + self.by_uuid.len()
    }

    /// True when no schema file is named by an id (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SchemaSource for SchemaDir {
    async fn fetch(&self, id: SchemaId) -> Result<FetchedSchema, FetchError> {
        let file = match id {
            SchemaId::Confluent(n) => self.by_number.get(&n),
            SchemaId::ConfluentGuid(u) | SchemaId::Glue(u) => self.by_uuid.get(&u),
        };
        let Some(file) = file else {
            let name = match id {
                SchemaId::Confluent(n) => n.to_string(),
                SchemaId::ConfluentGuid(u) | SchemaId::Glue(u) => {
                    crate::decode::hyphenated_uuid(&u)
                }
            };
            return Err(FetchError::NotFound(format!(
                "{id}: no {name}.avsc, {name}.proto or {name}.json in {}",
                self.root.display()
            )));
        };
        let references = match file.schema_type {
            "PROTOBUF" => self
                .protos
                .iter()
                .filter(|(name, _)| **name != file.name)
                .map(|(name, text)| (name.clone(), text.clone()))
                .collect(),
            "AVRO" => self
                .avro_types
                .iter()
                .map(|(name, text)| (name.clone(), text.clone()))
                .collect(),
            _ => Vec::new(),
        };
        Ok(FetchedSchema {
            schema_type: file.schema_type.to_string(),
            text: file.text.clone(),
            references,
            labels: vec![("schemaFile".into(), file.name.clone().into())],
        })
    }
}

enum Id {
    Number(u32),
    Uuid([u8; 16]),
}

/// A file name's stem, schema type and extension, when it has a schema extension.
fn schema_type(relative: &str) -> Option<(&str, &'static str, &'static str)> {
    let file = relative.rsplit('/').next()?;
    let (stem, ext) = file.rsplit_once('.')?;
    let (ext, schema_type) = FORMATS.iter().find(|(e, _)| *e == ext)?;
    (!stem.is_empty() && !stem.starts_with('.')).then_some((stem, *schema_type, *ext))
}

/// The id a file stem names: a decimal Confluent id or a hyphenated UUID.
fn parse_id(stem: &str) -> Option<Id> {
    if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
        return stem.parse().ok().map(Id::Number);
    }
    let hex: String = stem.chars().filter(|c| *c != '-').collect();
    let shape = stem.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| stem.as_bytes()[i] == b'-')
        && hex.len() == 32;
    let bytes = hex::decode(hex).ok().filter(|_| shape)?;
    bytes.try_into().ok().map(Id::Uuid)
}

/// Every regular file under `dir`, with its path relative to the root (`/`-separated); hidden
/// files and directories skipped.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), DirError> {
    let io = |source| DirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            if out.len() <= MAX_FILES {
                walk(&entry.path(), &format!("{relative}/"), out)?;
            }
        } else {
            out.push((relative, entry.path()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = root.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        root
    }

    const UUID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[tokio::test]
    async fn files_are_found_by_confluent_id_and_by_uuid() {
        let root = dir(&[
            ("7.avsc", r#""string""#),
            (&format!("{UUID}.proto"), "syntax = \"proto3\";"),
            ("12.json", "{}"),
            ("README.md", "not a schema"),
        ]);
        let schemas = SchemaDir::open(root.path()).unwrap();
        assert_eq!(schemas.len(), 3);
        assert_eq!(schemas.framing(), Framing::Any);
        let avro = schemas.fetch(SchemaId::Confluent(7)).await.unwrap();
        assert_eq!(
            (avro.schema_type.as_str(), avro.text.as_str()),
            ("AVRO", r#""string""#)
        );
        let uuid: [u8; 16] = hex::decode(UUID.replace('-', ""))
            .unwrap()
            .try_into()
            .unwrap();
        for id in [SchemaId::Glue(uuid), SchemaId::ConfluentGuid(uuid)] {
            assert_eq!(schemas.fetch(id).await.unwrap().schema_type, "PROTOBUF");
        }
        assert_eq!(
            schemas
                .fetch(SchemaId::Confluent(12))
                .await
                .unwrap()
                .schema_type,
            "JSON"
        );
        let missing = schemas.fetch(SchemaId::Confluent(8)).await.unwrap_err();
        assert!(
            matches!(&missing, FetchError::NotFound(m) if m.contains("8.avsc")),
            "{missing}"
        );
    }

    #[tokio::test]
    async fn protobuf_schemas_import_the_other_proto_files_by_relative_path() {
        let root = dir(&[
            ("1.proto", "import \"shop/common.proto\";"),
            ("shop/common.proto", "message Money {}"),
            ("2.proto", ""),
            ("Address.avsc", "{}"),
        ]);
        let schemas = SchemaDir::open(root.path()).unwrap();
        assert_eq!(schemas.framing(), Framing::Confluent);
        let fetched = schemas.fetch(SchemaId::Confluent(1)).await.unwrap();
        let names: Vec<&str> = fetched.references.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["2.proto", "shop/common.proto"]);
    }

    #[test]
    fn a_directory_without_schemas_or_with_two_files_for_one_id_is_refused() {
        let empty = dir(&[("notes.txt", "")]);
        assert!(matches!(
            SchemaDir::open(empty.path()),
            Err(DirError::Empty(_))
        ));
        let twice = dir(&[("3.avsc", "{}"), ("3.proto", "")]);
        let err = SchemaDir::open(twice.path()).unwrap_err();
        assert!(matches!(err, DirError::Duplicate { .. }), "{err}");
        let missing = SchemaDir::open(Path::new("/nonexistent/schemas")).unwrap_err();
        assert!(err_mentions(&missing, "/nonexistent/schemas"));
    }

    fn err_mentions(err: &DirError, text: &str) -> bool {
        err.to_string().contains(text)
    }

    #[test]
    fn uuid_named_files_alone_mean_glue_framing() {
        let root = dir(&[(&format!("{}.avsc", UUID.to_uppercase()), r#""int""#)]);
        assert_eq!(
            SchemaDir::open(root.path()).unwrap().framing(),
            Framing::Glue
        );
    }
}
