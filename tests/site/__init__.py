"""The course website (make site): its build, its pages, and the pages in Chromium."""
