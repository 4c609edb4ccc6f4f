//! CSV as RFC 4180 writes it (a header row, CRLF line ends, a field with a comma, a quote,
//! CR or LF in quotes, its quotes doubled), with text kept from being read as a formula
//! by a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a CR gets
//! a leading `'`. Numbers written as numbers are left alone.

/// One cell of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Text from anyone (a name, an email, a key): quoted as needed and kept from being
    /// read as a formula.
    Text(&'a str),
    /// A whole number, written as digits (with a `-` when negative).
    Number(i64),
    /// Nothing: an absent value.
    Empty,
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(text: &'a str) -> Self {
        Cell::Text(text)
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(text: &'a String) -> Self {
        Cell::Text(text)
    }
}

impl From<i64> for Cell<'_> {
    fn from(n: i64) -> Self {
        Cell::Number(n)
    }
}

impl<'a, T: Into<Cell<'a>>> From<Option<T>> for Cell<'a> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Empty, Into::into)
    }
}

/// What a text cell may not start with: a spreadsheet would take it for a formula (the
/// full-width signs too, which some spreadsheets read as their ASCII forms).
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'];

/// A CSV text being written, row by row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Csv {
    out: String,
}

impl Csv {
    /// An empty text.
    pub fn new() -> Csv {
        Csv::default()
    }

    /// Appends one row (the header row too), ended by CRLF.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            match cell {
                Cell::Text(text) => push_text(&mut self.out, text),
                Cell::Number(n) => self.out.push_str(&n.to_string()),
                Cell::Empty => {}
            }
        }
        self.out.push_str("\r\n");
    }

    /// Appends the header row: `names`, as text.
    pub fn header(&mut self, names: &[&str]) {
        self.row(names.iter().map(|n| Cell::Text(n)));
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The text written.
    pub fn into_string(self) -> String {
        self.out
    }
}

/// Writes `text` as one field: with a leading `'` when a spreadsheet would take it for a
/// formula, and in quotes (its quotes doubled) when it holds a comma, a quote, CR or LF.
fn push_text(out: &mut String, text: &str) {
    let guarded = text.starts_with(FORMULA_STARTS);
    let quoted = text.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cells: &[Cell]) -> String {
        let mut csv = Csv::new();
        csv.row(cells.iter().copied());
        csv.into_string()
    }

    #[test]
    fn plain_fields_are_written_as_they_are_and_rows_end_in_crlf() {
        let row = [Cell::Text("initech"), Cell::Number(42), Cell::Empty, Cell::Text("ada@initech.example")];
        assert_eq!(line(&row), "initech,42,,ada@initech.example\r\n");
        assert_eq!(line(&[]), "\r\n");
        assert_eq!(line(&[Cell::Text("")]), "\r\n");
    }

    #[test]
    fn a_field_with_a_comma_a_quote_or_a_line_break_is_quoted_with_its_quotes_doubled() {
        let cases = [
            ("Acme, Inc.", "\"Acme, Inc.\""),
            ("The \"best\" one", "\"The \"\"best\"\" one\""),
            ("two\nlines", "\"two\nlines\""),
            ("two\r\nlines", "\"two\r\nlines\""),
            ("\"", "\"\"\"\""),
            ("Initech", "Initech"),
            ("it's", "it's"),
            ("café; tab\there", "café; tab\there"),
        ];
        for (text, written) in cases {
            assert_eq!(line(&[Cell::Text(text)]), format!("{written}\r\n"), "{text:?}");
        }
    }

    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_gets_a_leading_quote() {
        let cases = [
            ("=1+2", "'=1+2"),
            ("+44 20 7946 0000", "'+44 20 7946 0000"),
            ("-2", "'-2"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\tindented", "'\tindented"),
            ("\rreturn", "\"'\rreturn\""),
            ("=HYPERLINK(\"http://x\", \"y\")", "\"'=HYPERLINK(\"\"http://x\"\", \"\"y\"\")\""),
            ("a=b", "a=b"),
            (" =padded", " =padded"),
            ("\u{FF1D}1+2", "'\u{FF1D}1+2"),
            ("\u{FF20}SUM(A1)", "'\u{FF20}SUM(A1)"),
        ];
        for (text, written) in cases {
            assert_eq!(line(&[Cell::Text(text)]), format!("{written}\r\n"), "{text:?}");
        }
    }

    #[test]
    fn numbers_are_never_guarded_or_quoted() {
        assert_eq!(line(&[Cell::Number(-5), Cell::Number(0), Cell::Number(i64::MIN)]), "-5,0,-9223372036854775808\r\n");
    }

    #[test]
    fn options_and_strings_become_cells() {
        let name = String::from("Ada");
        let none: Option<&str> = None;
        assert_eq!(Cell::from(&name), Cell::Text("Ada"));
        assert_eq!(Cell::from(none), Cell::Empty);
        assert_eq!(Cell::from(Some(7_i64)), Cell::Number(7));
    }

    #[test]
    fn a_header_is_a_row_of_text() {
        let mut csv = Csv::new();
        assert!(csv.is_empty());
        csv.header(&["id", "customer"]);
        csv.row([Cell::Number(1), Cell::from("a,b")]);
        assert_eq!(csv.into_string(), "id,customer\r\n1,\"a,b\"\r\n");
    }
}
