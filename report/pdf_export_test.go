package report

// StatementPDFUTF8 draws a statement with the UTF-8 fonts whatever its
// text: the reference the Windows-1252 fast path is compared with.
func StatementPDFUTF8(in PDFInput) ([]byte, []string, error) { return statementPDF(in, false) }
