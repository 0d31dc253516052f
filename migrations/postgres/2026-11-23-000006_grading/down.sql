DROP TABLE grades;
DROP TABLE grade_applications;
