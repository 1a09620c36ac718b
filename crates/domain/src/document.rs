//! A document to send (an activity report…): headings, paragraphs and tables of text, built by
//! the domain and rendered by `cpts-render` as PDF, CSV, XLSX or plain text.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    /// Lines under the title (parties, period, status).
    pub subtitle: Vec<String>,
    pub blocks: Vec<Block>,
    /// Printed at the foot of every page.
    pub footer: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Text(String),
    Table(Table),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Short name (a sheet's name in XLSX, a section in CSV).
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Relative column widths (PDF).
    pub widths: Vec<u16>,
    /// Right-aligned (numeric) columns.
    pub right: Vec<bool>,
}

impl Table {
    /// Columns as (title, relative width, right-aligned).
    pub fn new(name: &str, columns: &[(&str, u16, bool)]) -> Table {
        Table {
            name: name.to_string(),
            header: columns.iter().map(|c| c.0.to_string()).collect(),
            rows: Vec::new(),
            widths: columns.iter().map(|c| c.1).collect(),
            right: columns.iter().map(|c| c.2).collect(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

impl Document {
    pub fn heading(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(s.into()));
    }

    pub fn text(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Text(s.into()));
    }

    pub fn table(&mut self, t: Table) {
        self.blocks.push(Block::Table(t));
    }
}
